import type {Report} from "./report.js";
import {pct} from "./reportTargets.js";
import {PROPOSAL_STAGES, proposalBudgetMs} from "../roles/validator/duties/proposer/proposalBudget.js";

const ms = (x: number): string => (Number.isFinite(x) ? `${Math.round(x)} ms` : "n/a");
const nodeList = (xs: number[]): string => (xs.length ? xs.join(", ") : "none");
/** A root as the first and last bytes a reader compares: 0x1234…abcd. */
const short = (root: string): string => `${root.slice(0, 6)}…${root.slice(-4)}`;
/** A failure reason as a person reads it: `no_quorum` -> "no quorum". */
export const readable = (reason: string): string => reason.replace(/_/g, " ");

export const readyWhen = (msFromGenesis: number): string =>
  `${(Math.abs(msFromGenesis) / 1000).toFixed(1)} s ${msFromGenesis < 0 ? "before" : "after"} genesis`;

function table(head: string[], rows: (string | number)[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** The report as Markdown: what `r3dv devnet` prints at the end and writes to OUT/report.md. */
export function renderMarkdown(r: Report): string {
  const f = r.facts;
  const nodes = Array.from({length: f.nodes}, (_, k) => k + 1);
  const out: string[] = [];
  out.push(`# r3dv devnet run: ${r.passed ? "PASSED" : "FAILED"}`);
  out.push(
    `${f.nodes} nodes, threshold ${f.threshold}, ${f.validators} validators, ${f.epochs} epochs of ${f.slotsPerEpoch} slots of ${f.slotMs / 1000} s; ` +
      `genesis ${new Date(f.genesisTime * 1000).toISOString()}, run ${Math.round((f.endedAt - f.startedAt) / 1000)} s` +
      (f.readyAt
        ? `, every node ready ${readyWhen(f.readyAt - f.genesisTime * 1000)}`
        : ", not every node became ready in epoch 0"),
  );
  if (f.latency || r.peerRtt)
    out.push(
      (f.latency
        ? `Links between nodes: ${f.latency.rttMs} ms round trips, jitter ${f.latency.jitterMs} ms, added by a delay proxy in front of every node. `
        : "") +
        (r.peerRtt
          ? `Round trips the nodes measured to each other (libp2p ping, ${r.peerRtt.count} readings): p50 ${Math.round(r.peerRtt.p50)} ms, p99 ${Math.round(r.peerRtt.p99)} ms.`
          : "The nodes measured no round trip to each other."),
    );
  out.push(
    "## Verdict\n\n" +
      table(
        ["target", "measured", "required", "result"],
        r.targets.map((t) => [t.name, t.measured, t.target, t.met ? "pass" : "**FAIL**"]),
      ) +
      `\n\n${
        r.passed
          ? "Every target met: exit code 0."
          : `Missed: ${r.targets
              .filter((t) => !t.met)
              .map((t) => t.name)
              .join(", ")}; exit code 1.`
      }` +
      (r.epochsWithoutQuorum.length
        ? ` Epochs ${r.epochsWithoutQuorum.join(", ")} had fewer than ${f.threshold} nodes up after an injected fault: their sync committee, aggregate and proposal duties are shown below but not judged.`
        : ""),
  );
  out.push(
    "## Effectiveness (read from the devnet's beacon state)\n\n" +
      table(
        [
          "epoch",
          "quorum up",
          "attestations on target",
          "of duties",
          "effectiveness",
          "mean inclusion delay",
          "proposals made",
          "missed proposals",
          "sync committee participation",
          "aggregates included",
        ],
        r.epochs.map((e) => [
          e.epoch,
          e.quorum ? "yes" : "no",
          e.good,
          e.duties,
          e.duties ? pct(e.good / e.duties) : "n/a",
          e.meanInclusionDelay?.toFixed(2) ?? "n/a",
          e.proposed,
          e.missed.length ? e.missed.join(", ") : "none",
          e.syncParticipation === null ? "n/a" : pct(e.syncParticipation),
          `${e.aggregatesIncluded} of ${e.aggregatesAccepted}`,
        ]),
      ) +
      `\n\nTotal: ${r.attestationsGood} of ${r.attestationDuties} (${pct(r.effectiveness)}), mean inclusion delay ${r.meanInclusionDelay?.toFixed(2) ?? "n/a"} slots; ` +
      `${r.proposed} proposals made, ${r.missedProposals.length} missed${r.missedProposals.length ? ` (slots ${r.missedProposals.join(", ")})` : ""}. ` +
      `Sync committee participation ${r.syncParticipation === null ? "n/a" : pct(r.syncParticipation)}; ${r.aggregatesIncluded} of ${r.aggregatesAccepted} published aggregates included. ` +
      `Finality: finalized epoch ${r.finalizedAtStart} -> ${r.finalizedAtEnd}, justified ${r.justifiedAtEnd}.`,
  );
  out.push(
    "## Duty latency\n\n" +
      `Attestations submitted, from the due time (1/3 slot) to submission, over every node: p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)} ` +
      `against the 1/3-slot deadline of ${r.latency.deadlineMs} ms (${r.latency.overDeadline} of ${r.latency.count} over it); consensus decided at p50 ${ms(r.latency.consensusP50)}, p99 ${ms(r.latency.consensusP99)}.`,
  );
  const budget = proposalBudgetMs(r.facts.slotMs);
  out.push(
    "## Proposals\n\n" +
      (r.proposals.length
        ? table(
            ["path", "proposals", "slots", ...PROPOSAL_STAGES.map((s) => `${s} p50/p99 (budget ${budget[s]})`)],
            r.proposals.map((p) => [
              p.path,
              p.slots.length,
              p.slots.join(", "),
              ...PROPOSAL_STAGES.map((name) => {
                const st = p.stages.find((x) => x.stage === name);
                return st ? `${ms(st.p50)} / ${ms(st.p99)}${st.over ? ` (${st.over} over)` : ""}` : "-";
              }),
            ]),
          ) +
          `\n\nms from the slot's start, over every node's result, against each stage's budget (the ms by which it should have ended; "n over" counts the results past it). With the builder API a node waits for the builder path until the fetch budget, then fetches a local block; the block is due before the attesters vote at ${budget.submit} ms.`
        : "The cluster had no proposal in this run."),
  );
  const faults = r.faults.map((x) => {
    const what =
      x.event.action === "kill"
        ? `SIGKILL node ${x.event.node} (pid ${x.pid ?? "?"})`
        : x.event.action === "invalid_head"
          ? x.event.payload
            ? `the devnet made a block whose payload is invalid (${x.event.payload === "failing_tx" ? "a transaction that cannot run" : "a wrong state root"}; consensus-valid) its head for the slot's votes`
            : "the devnet made an invalid block its head for the slot's votes"
          : `start node ${x.event.node} (pid ${x.pid ?? "?"})`;
    const reasons =
      Object.entries(x.reasons)
        .map(([k, v]) => `${v} ${readable(k)}`)
        .join(", ") || "none";
    const effect =
      x.event.action === "invalid_head"
        ? `slot ${x.slot}: ${x.failedDuties} duty failures reported (${reasons}), ${x.missedOnChain} attestations missing on chain; see "Invalid heads"`
        : x.event.action === "kill"
          ? `slots ${x.slot}-${x.untilSlot}: ${x.failedDuties} duty failures reported (${reasons}), ${x.missedOnChain} attestations missing on chain`
          : (x.recoveredSlot !== undefined
              ? `node ${x.event.node} submitted again from slot ${x.recoveredSlot}, ${x.recoveredAfterSec?.toFixed(1)} s after its start`
              : `node ${x.event.node} submitted nothing before the run ended`) + (x.note ? `; ${x.note}` : "");
    return [
      x.event.action === "invalid_head"
        ? `invalid-${x.event.payload === "failing_tx" ? "tx" : x.event.payload ? "payload" : "head"}@${x.event.epoch}`
        : `${x.event.action}:${x.event.node}@${x.event.epoch}`,
      x.slot,
      (x.error ? `${what}: failed: ${x.error}` : what) +
        (x.event.movedFrom !== undefined
          ? ` (scheduled for epoch ${x.event.movedFrom}; the rolling restart waited for the node before to submit again)`
          : ""),
      effect,
    ];
  });
  out.push(
    "## Faults injected\n\n" +
      (faults.length ? table(["fault", "slot", "what was done", "what it did"], faults) : "None (--no-chaos)."),
  );
  if (f.crashes.length)
    out.push(
      "Processes that ended on their own: " +
        f.crashes.map((c) => `node ${c.node} at slot ${c.slot} (${c.exit})`).join("; ") +
        ".",
    );
  out.push(
    "## Missed duties and why (as the nodes recorded them)\n\n" +
      (r.failures.length
        ? table(
            ["duty", "reason", "failures", "slots", "reported by nodes", "missing nodes", "fewest nodes up"],
            r.failures.map((g) => [
              g.duty,
              readable(g.reason),
              g.count,
              `${g.slots[0]}-${g.slots[1]}`,
              nodeList(g.reportedBy),
              nodeList(g.missing),
              `${g.minNodesUp} of ${f.nodes} (threshold ${f.threshold})`,
            ]),
          )
        : "None: every duty every node saw was submitted."),
  );
  out.push(
    "## Duty outcomes per node\n\n" +
      table(
        ["duty", "status", "reason", ...nodes.map((n) => `node ${n}`)],
        r.outcomes.map((o) => [o.duty, o.status, readable(o.reason) || "-", ...nodes.map((n) => o.perNode[n] ?? 0)]),
      ),
  );
  const refusals = r.refusals.length
    ? table(
        ["node", "limiter", "refused"],
        r.refusals.map((x) => [x.node, x.limiter, x.count]),
      )
    : "No chunk was refused by any limiter.";
  out.push("## Limiter refusals\n\n" + refusals);
  out.push(
    "## Series size per node\n\n" +
      table(
        ["node", "entries", "bytes"],
        r.series.map((s) => [s.node, s.entries, s.bytes]),
      ),
  );
  if (r.facts.verify === "off")
    out.push(
      "## Block verification\n\nOff (`--verify off`): no node verified a block, and every duty signed for whatever " +
        "head its beacon node named.",
    );
  else
    out.push(
      "## Block verification\n\n" +
        table(
          [
            "node",
            "verified",
            "payloads re-executed",
            "invalid",
            "unverifiable",
            "time per verified block p50/p99",
            "of which execution p50/p99",
          ],
          r.verification.map((v) => [
            v.node,
            v.verified,
            v.executed,
            v.invalid ? `${v.invalid} (slots ${v.invalidSlots.join(", ")})` : 0,
            v.unavailable,
            `${ms(v.p50Ms)} / ${ms(v.p99Ms)}`,
            `${ms(v.executionP50Ms)} / ${ms(v.executionP99Ms)}`,
          ]),
        ) +
        `\n\nEach node's EVM role (\`--verify ${r.facts.verify ?? "enforce"}\`) ran its own state transition on every block its beacon node followed (signatures, state root), re-executed its payload on state proven against the parent's state root (\`--execution-rpc\`: the devnet's own execution JSON-RPC) and recorded a verdict; ${r.proposed} blocks were proposed on chain in the run. ${r.facts.verify === "advisory" ? "Advisory: duties signed whatever head the beacon node named, verified or not." : "Enforced: every attestation, sync message and proposal signed only for a head its node had verified."}`,
    );
  if (r.facts.verify !== "off")
    out.push(
      "## Block views shared\n\n" +
        table(
          ["node", "valid views shared", "block slots covered", ...r.sharing.map((l) => `held by ${l.origin}`)],
          r.sharing.map((l) => [
            l.origin,
            l.sent,
            `${l.slotsCovered} of ${l.slotsUp}`,
            ...r.sharing.map((other) => {
              if (other.origin === l.origin) return "-";
              const h = l.heldBy.find((x) => x.node === other.origin);
              return h ? `${h.held} (${l.sent ? pct(h.held / l.sent) : "-"})` : "-";
            }),
          ]),
        ) +
        "\n\nEach verdict a node reaches on a recent block is an `eth_block` chunk pushed to every peer " +
        "(`r3dv series --kind eth_block`): with `--verify enforce`, a node whose own verification lags signs for a head " +
        "only once threshold peers shared a valid view of it. Block slots covered: slots with a block, while the node ran duties.",
    );
  if (r.invalidHeads.length)
    out.push(
      "## Invalid heads\n\n" +
        table(
          ["slot", "block", "judged invalid by", "signed over it", "the cluster proposed to vote for instead"],
          r.invalidHeads.map((h) => [
            h.slot,
            short(h.root),
            `nodes ${nodeList(h.judgedInvalidBy)} (${h.reasons.join(", ") || "-"})${h.notJudgedBy.length ? `; not by ${nodeList(h.notJudgedBy)}` : ""}`,
            `${h.attesters} attestations, ${h.syncMembers} sync messages, ${h.childBlocks} blocks`,
            h.votedInstead.map((v) => `${short(v.root)} (${v.results} results)`).join(", ") || "nothing replaced",
          ]),
        ) +
        "\n\nThe devnet made each of these blocks its head for one slot's votes, as a beacon node with a consensus bug would: properly signed by the slot's proposer, with a wrong state root. Every node's duties signed for the newest block it had verified instead.",
    );
  const s = f.slashing;
  out.push(
    "## Slashing protection audit\n\n" +
      `Exported the EIP-3076 history of nodes ${nodeList(s.nodes)}: ${s.attestations} attestation and ${s.blocks} block records, ${s.fullySigned} messages signed by at least ${f.threshold} shares. ` +
      `Slashable pairs: ${s.slashable.length ? s.slashable.join("; ") : "none"}. Share disagreements below the threshold: ${s.conflicts.length ? s.conflicts.join("; ") : "none"}.`,
  );
  return out.join("\n\n") + "\n";
}
