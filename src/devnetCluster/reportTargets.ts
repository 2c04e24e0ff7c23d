import {leastCovered, leastHeld} from "./blockViews.js";
import {signaturesOverInvalid} from "./invalidHeads.js";
import type {Report, RunFacts, Target, EpochLine} from "./report.js";

/*
 * What a devnet run must show to pass: each target names what it measured and what it wanted, and a run passes when
 * every one is met (report.ts builds the facts they judge).
 */

/** The share of attestations that must be included with the right target for a run to pass (the issue's bar). */
export const EFFECTIVENESS_TARGET = 0.99;
/**
 * Block views (`eth_block` chunks): the issue's bar, 95% of slots. Not 100%: a view of the slot a node restarted
 * in, or one pushed while a peer was restarting and not fetched back before the run ended, is a real gap.
 */
export const VIEWS_SHARED_TARGET = 0.95;
/**
 * The share of sync committee bits set, over the blocks of epochs where a quorum of nodes was up. `r3dv devnet`
 * runs the devnet with `--own none`, so every seat is one of the cluster's validators. Why 90% and not the 99%
 * of attestations: on 2 s slots a contribution has 667 ms from its due time (2/3 slot) to the next block, on a
 * machine whose two cores run four nodes and the beacon node; quiet runs on such a machine measured 94.5% to
 * 100% (2026-11-25), the misses in the slots after genesis and after a node's restart (recover and consensus
 * timeouts). Mainnet's 12 s slots leave six times that time; 99% there is the scaling work's target. 90% still
 * fails a run in which a sync duty type stops working (Lodestar 1.5.1's header answer once failed every message).
 */
export const SYNC_PARTICIPATION_TARGET = 0.9;

export const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/**
 * Weighted by blocks: an epoch with two blocks must not count as much as one with eight. The committee size
 * is the same in every epoch, so this is the bits set over the bits the epochs' blocks had.
 */
export function syncParticipation(epochs: EpochLine[]): number | null {
  let weighted = 0;
  let blocks = 0;
  for (const e of epochs) {
    if (e.syncParticipation === null || e.syncBlocks === 0) continue;
    weighted += e.syncParticipation * e.syncBlocks;
    blocks += e.syncBlocks;
  }
  return blocks > 0 ? weighted / blocks : null;
}

/** Epochs as "2, 3" or "none", for a target's text. */
const epochList = (xs: number[]): string => (xs.length ? xs.join(", ") : "none");

function target(name: string, met: boolean, measured: string, wanted: string): Target {
  return {name, met, measured, target: wanted, detail: `${measured} (target: ${wanted})`};
}

/**
 * Epochs a run needs before finality can advance on a perfect chain: the spec skips justification until the end of
 * epoch 1, justifies epochs 1 and 2 at the end of epoch 2, and finalizes epoch 2 at the end of epoch 3. A shorter
 * run of 3 epochs (the scale runs, 12 s slots) is judged on its last epoch being justified instead, and one of 2 on
 * neither (nothing can be justified before the end of epoch 2).
 */
const FIRST_FINALITY_EPOCHS = 4;

/**
 * The verdict. Sync committee, aggregate and proposal duties are judged in the epochs where a quorum was up
 * (the default chaos keeps 3 of 4 nodes up: every epoch); a target with nothing to judge fails, because a
 * run that measured nothing proves nothing.
 */
export function judge(r: Omit<Report, "targets" | "passed">, f: RunFacts): Target[] {
  const judged = r.epochs.filter((e) => e.quorum);
  const excused = r.epochs.filter((e) => !e.quorum).map((e) => e.epoch);
  const where = `${judged.length} epoch(s) with a quorum up${excused.length ? `; epochs ${epochList(excused)} excused (no quorum)` : ""}`;
  const sync = syncParticipation(judged);
  const syncBlocks = judged.reduce((a, e) => a + (e.syncParticipation === null ? 0 : e.syncBlocks), 0);
  const accepted = judged.reduce((a, e) => a + e.aggregatesAccepted, 0);
  const included = judged.reduce((a, e) => a + e.aggregatesIncluded, 0);
  const missed = judged.flatMap((e) => e.missed);
  const s = f.slashing;
  const verified = r.verification.reduce((a, v) => a + v.verified, 0);
  const injected = new Set(r.invalidHeads.map((h) => h.root));
  const unexpected = r.verification.flatMap((v) => {
    const slots = v.invalidSlots.filter((_, k) => !injected.has(v.invalidRoots[k] as string));
    return slots.length ? [{node: v.node, slots}] : [];
  });
  return [
    target(
      "effectiveness",
      r.effectiveness >= EFFECTIVENESS_TARGET,
      `${pct(r.effectiveness)} of ${r.attestationDuties} attestations included with the correct target`,
      `at least ${pct(EFFECTIVENESS_TARGET)}`,
    ),
    ...(f.epochs >= FIRST_FINALITY_EPOCHS
      ? [
          target(
            "finality",
            r.finalizedAtEnd > r.finalizedAtStart,
            `finalized epoch ${r.finalizedAtStart} at the start, ${r.finalizedAtEnd} at the end`,
            "advances",
          ),
        ]
      : f.epochs === FIRST_FINALITY_EPOCHS - 1
        ? [
            target(
              "justification",
              r.justifiedAtEnd >= f.epochs - 1,
              `justified epoch ${r.justifiedAtEnd} at the end (${f.epochs} epochs end before the first finality)`,
              `the run's last epoch, ${f.epochs - 1}`,
            ),
          ]
        : []),
    target(
      "sync committee participation",
      sync !== null && sync >= SYNC_PARTICIPATION_TARGET,
      sync === null
        ? `no block with a sync aggregate in ${where}`
        : `${pct(sync)} of the sync committee bits in ${syncBlocks} blocks of ${where}`,
      `at least ${pct(SYNC_PARTICIPATION_TARGET)}`,
    ),
    // An aggregate the beacon node accepted carries votes it validated: nothing but a missing block keeps them
    // off chain, and the run waits for the last slot's inclusion; so every one must be included.
    target(
      "aggregates included",
      accepted > 0 && included === accepted,
      `${included} of ${accepted} accepted aggregates included, in ${where}`,
      "every accepted aggregate, and at least one",
    ),
    // A proposal needs a quorum like every duty: with one up, the block is signed and published in its slot.
    target(
      "no missed proposal",
      judged.length > 0 && missed.length === 0,
      `${missed.length} missed${missed.length ? ` (slots ${missed.join(", ")})` : ""} in ${where}`,
      "none outside epochs without a quorum",
    ),
    target(
      "no slashable signature",
      s.slashable.length === 0 && s.errors.length === 0 && s.nodes.length === f.nodes,
      `${s.attestations} attestation and ${s.blocks} block records of ${s.nodes.length} of ${f.nodes} nodes' slashing-protection DBs: ` +
        `${s.slashable.length} slashable pair(s)${s.errors.length ? `; unreadable: ${s.errors.join("; ")}` : ""}`,
      "none, every node's DB read",
    ),
    ...(f.verify === "off" ? [] : verificationTargets(r, verified, unexpected)),
    ...(r.invalidHeads.length
      ? [
          target(
            "nothing signed over an invalid head",
            signaturesOverInvalid(r.invalidHeads) === 0,
            r.invalidHeads
              .map(
                (h) =>
                  `slot ${h.slot}: ${h.attesters} attestation(s), ${h.syncMembers} sync message(s), ${h.childBlocks} block(s) over it`,
              )
              .join("; "),
            "no attestation, sync message or block of the cluster names an injected invalid head",
          ),
        ]
      : []),
  ];
}

/** What the nodes' EVM roles must show when they verify (`--verify enforce` or advisory). */
function verificationTargets(
  r: Omit<Report, "targets" | "passed">,
  verified: number,
  unexpected: {node: number; slots: number[]}[],
): Target[] {
  return [
    // The devnet's chain is valid but for the invalid heads it injects: any other block judged invalid is a
    // defect of the verifier (or of the devnet), and an injected one that a node did not judge invalid is too.
    target(
      "block verification",
      r.verification.length > 0 &&
        r.verification.every((v) => v.verified > 0 && v.executed === v.verified) &&
        unexpected.length === 0 &&
        r.invalidHeads.every((h) => h.notJudgedBy.length === 0),
      `${verified} blocks verified by nodes ${r.verification.map((v) => `${v.node} (${v.verified})`).join(", ") || "none"}, ` +
        `${r.verification.reduce((a, v) => a + v.executed, 0)} with their payload re-executed; ` +
        (unexpected.length
          ? `invalid: ${unexpected.map((v) => `node ${v.node} slots ${v.slots.join(", ")}`).join("; ")}`
          : "none invalid but the injected heads") +
        r.invalidHeads
          .filter((h) => h.notJudgedBy.length > 0)
          .map(
            (h) =>
              `; injected invalid head at slot ${h.slot} not judged invalid by node(s) ${h.notJudgedBy.join(", ")}`,
          )
          .join(""),
      "every node verifies the devnet's blocks (each verified payload re-executed) and judges invalid exactly the injected invalid heads",
    ),
    // Every node's verdicts reach every other node: what a lagging node signs on, and the cluster's record of
    // what each node saw.
    target(
      "block views shared",
      r.sharing.length > 0 &&
        leastCovered(r.sharing) >= VIEWS_SHARED_TARGET &&
        leastHeld(r.sharing) >= VIEWS_SHARED_TARGET,
      r.sharing.length === 0
        ? "no node read at the end"
        : r.sharing
            .map(
              (l) =>
                `node ${l.origin}: valid views for ${l.slotsCovered} of ${l.slotsUp} block slots it ran duties in, ` +
                `held by ${l.heldBy.map((h) => `${h.node} (${l.sent ? pct(h.held / l.sent) : "-"})`).join(", ")}`,
            )
            .join("; "),
      `each node shares a valid view for at least ${pct(VIEWS_SHARED_TARGET)} of the block slots it ran duties in, and every other node holds at least ${pct(VIEWS_SHARED_TARGET)} of them`,
    ),
  ];
}
