import assert from "node:assert/strict";
import {describe, it} from "node:test";
import type {DutyRecord, SlotSample} from "../../src/devnetCluster/observer.js";
import {type EffectivenessAnswer, type RunFacts, buildReport} from "../../src/devnetCluster/report.js";
import {renderMarkdown} from "../../src/devnetCluster/reportMarkdown.js";
import {renderHtml} from "../../src/devnetCluster/reportHtml.js";

/** Two epochs of 8 validators (one per slot); nodes 1 and 2 down in slots 4-11, back from slot 12. */
function facts(): RunFacts {
  const down = (slot: number) => slot >= 4 && slot < 12;
  const effectiveness: EffectivenessAnswer = {
    finalized: {epoch: 1},
    current_justified: {epoch: 2},
    epochs: [0, 1].map((epoch) => ({
      epoch,
      validators: Array.from({length: 8}, (_, i) => {
        const slot = epoch * 8 + i;
        return {
          index: i,
          duty: {slot},
          included: !down(slot),
          correct_target: !down(slot),
          inclusion_delay: down(slot) ? null : 1,
        };
      }),
      proposals: Array.from({length: 8}, (_, i) => ({slot: epoch * 8 + i, proposed: !down(epoch * 8 + i), due: true})),
      missed_proposals: Array.from({length: 8}, (_, i) => epoch * 8 + i).filter(down),
      // 4 blocks in epoch 0 with every seat signed, 2 in epoch 1 with none (weights: 4 and 2).
      sync_committee:
        epoch === 0 ? {blocks: 4, bits_set: 128, participation: 1} : {blocks: 2, bits_set: 0, participation: 0},
      aggregates: {accepted: 4, included: epoch === 0 ? 4 : 3},
    })),
  };
  const samples: SlotSample[] = Array.from({length: 16}, (_, slot) => ({
    slot,
    t: slot * 2000,
    nodes: [1, 2, 3, 4].map((node) => ({
      node,
      up: node > 2 || !down(slot),
      peers: 3,
      seriesEntries: 100 + slot,
      seriesBytes: 1000,
      refused: {},
    })),
    finalized: slot < 8 ? 0 : 1,
  }));
  const duties: DutyRecord[] = [];
  let seq = 0;
  for (let slot = 0; slot < 16; slot++) {
    for (const node of [1, 2, 3, 4]) {
      if (node <= 2 && down(slot)) continue;
      const failed = down(slot);
      duties.push({
        node,
        seq: seq++,
        duty: "attester",
        slot,
        validatorIndex: slot % 8,
        status: failed ? "failed" : "submitted",
        stages: failed ? {fetch: 5} : {consensus: 100, submit: 300 + node},
        ...(failed ? {reason: "no_quorum", missing: [1, 2]} : {}),
      });
    }
  }
  return {
    nodes: 4,
    threshold: 3,
    validators: 8,
    epochs: 2,
    slotMs: 2000,
    slotsPerEpoch: 8,
    genesisTime: 0,
    startedAt: 0,
    readyAt: -1000,
    endedAt: 40_000,
    effectiveness,
    samples,
    duties,
    faults: [
      {event: {action: "kill", node: 1, epoch: 0}, slot: 4, at: 8000, pid: 11},
      {event: {action: "kill", node: 2, epoch: 0}, slot: 4, at: 8000, pid: 12},
      {event: {action: "start", node: 1, epoch: 1}, slot: 12, at: 24_000, pid: 13},
      {event: {action: "start", node: 2, epoch: 1}, slot: 12, at: 24_000, pid: 14},
    ],
    crashes: [],
    slashing: {
      nodes: [1, 2, 3, 4],
      attestations: 10,
      blocks: 2,
      fullySigned: 4,
      slashable: [],
      conflicts: [],
      errors: [],
    },
    verdictsFrom: [1, 2, 3, 4],
    // Every node verified the block of every slot but 0, in 20 + node + slot ms.
    verdicts: [1, 2, 3, 4].flatMap((node) =>
      Array.from({length: 15}, (_, k) => ({
        node,
        status: "verified" as const,
        root: `0x${(k + 1).toString(16).padStart(64, "0")}`,
        slot: k + 1,
        totalMs: 20 + node + k + 1,
        executed: true,
        executionMs: 10 + k,
      })),
    ),
    invalidHeads: [],
    // Every node shared a valid view of every block while it was up, and every node holds every view.
    views: [1, 2, 3, 4].flatMap((holder) =>
      [1, 2, 3, 4].flatMap((origin) =>
        Array.from({length: 15}, (_, k) => k + 1)
          .filter((slot) => origin > 2 || !down(slot))
          .map((slot) => ({holder, origin, slot, root: `0x${slot.toString(16).padStart(64, "0")}`, verdict: "valid"})),
      ),
    ),
  };
}

describe("devnet report", () => {
  it("judges finality from 4 epochs on, the last epoch's justification at 3, and neither at 2 (the spec's first ones)", () => {
    const chainTargets = (epochs: number, justified: number) =>
      buildReport({
        ...facts(),
        epochs,
        effectiveness: {...facts().effectiveness, current_justified: {epoch: justified}},
      })
        .targets.filter((t) => t.name === "finality" || t.name === "justification")
        .map((t) => [t.name, t.met]);
    assert.deepEqual(chainTargets(2, 0), []);
    assert.deepEqual(chainTargets(3, 2), [["justification", true]]);
    assert.deepEqual(chainTargets(3, 1), [["justification", false]]);
    // facts() finalizes epoch 1 after starting at 0.
    assert.deepEqual(chainTargets(4, 2), [["finality", true]]);
  });

  it("judges effectiveness from the chain, names no_quorum failures with their missing nodes, and finds the recovery", () => {
    const r = buildReport(facts());
    assert.equal(r.attestationDuties, 16);
    assert.equal(r.attestationsGood, 8);
    assert.equal(r.passed, false);
    // Nodes 1 and 2 were down in slots 4-11, so neither epoch had a quorum throughout: nothing to judge sync
    // committee, aggregate and proposal duties by, and a target that judged nothing fails.
    assert.deepEqual(r.epochsWithoutQuorum, [0, 1]);
    assert.deepEqual(
      r.targets.map((t) => [t.name, t.met]),
      [
        ["effectiveness", false],
        ["sync committee participation", false],
        ["aggregates included", false],
        ["no missed proposal", false],
        ["no slashable signature", true],
        ["block verification", true],
        ["block views shared", true],
      ],
    );
    assert.equal(r.syncParticipation, 128 / 192);
    assert.deepEqual([r.aggregatesIncluded, r.aggregatesAccepted], [7, 8]);
    assert.deepEqual(
      r.epochs.map((e) => e.syncParticipation),
      [1, 0],
    );
    assert.deepEqual(r.failures, [
      {
        duty: "attester",
        reason: "no_quorum",
        count: 16,
        slots: [4, 11],
        reportedBy: [3, 4],
        missing: [1, 2],
        minNodesUp: 2,
      },
    ]);
    const kill = r.faults[0];
    assert.equal(kill?.untilSlot, 11);
    assert.equal(kill?.missedOnChain, 8);
    assert.deepEqual(
      r.faults.slice(2).map((f) => [f.recoveredSlot, f.recoveredAfterSec]),
      [
        [12, 0],
        [12, 0],
      ],
    );
    assert.equal(r.latency.p50, 302);
    assert.deepEqual(
      r.timeline.slice(3, 5).map((t) => [t.submitted, t.failed]),
      [
        [1, 0],
        [0, 1],
      ],
    );
    const md = renderMarkdown(r);
    assert.match(md, /\| attester \| no quorum \| 16 \| 4-11 \| 3, 4 \| 1, 2 \| 2 of 4 \(threshold 3\) \|/);
    assert.match(md, /node 1 submitted again from slot 12/);
    assert.match(md, /Sync committee participation 66\.7%; 7 of 8 published aggregates included/);
    assert.match(md, /\| 1 \| no \| 4 \| 8 \| 50\.0% \| 1\.00 \| 4 \| 8, 9, 10, 11 \| 0\.0% \| 3 of 4 \|/);
    assert.match(
      md,
      /\| effectiveness \| 50\.0% of 16 attestations included with the correct target \| at least 99\.0% \| \*\*FAIL\*\* \|/,
    );
    assert.match(
      md,
      /Missed: effectiveness, sync committee participation, aggregates included, no missed proposal; exit code 1\./,
    );
    assert.equal((renderHtml(r).match(/<svg/g) ?? []).length, 3);
  });

  it("draws the chart of an hour-long run at 10,000 validators (hundreds of thousands of attestations)", () => {
    const f = facts();
    for (let k = 0; k < 300_000; k++)
      f.duties.push({
        node: 1 + (k % 4),
        seq: 10_000 + k,
        duty: "attester",
        slot: k % 16,
        validatorIndex: k % 8,
        status: "submitted",
        stages: {consensus: 100, submit: 200 + (k % 900)},
      });
    assert.equal((renderHtml(buildReport(f)).match(/<svg/g) ?? []).length, 3);
  });

  it("counts duties whose duty fetch failed over the slots they may have fallen in", () => {
    const f = facts();
    let seq = 1000;
    const window = {from: 8, to: 15};
    // Node 3 never fetched epoch 1's duties: one result per validator at the epoch's first slot, one epoch-wide proposer result.
    for (let v = 0; v < 8; v++)
      f.duties.push({
        node: 3,
        seq: seq++,
        duty: "attester",
        slot: 8,
        validatorIndex: v,
        status: "failed",
        reason: "duty_fetch_failed",
        stages: {},
        window,
      });
    f.duties.push({
      node: 3,
      seq: seq++,
      duty: "proposer",
      slot: 8,
      validatorIndex: -1,
      status: "failed",
      reason: "duty_fetch_failed",
      stages: {},
      window,
    });
    const r = buildReport(f);
    const group = (duty: string) => r.failures.find((g) => g.duty === duty && g.reason === "duty_fetch_failed");
    assert.deepEqual([group("attester")?.count, group("attester")?.slots], [8, [8, 15]]);
    assert.deepEqual([group("proposer")?.count, group("proposer")?.slots], [1, [8, 15]]);
    assert.deepEqual(r.outcomes.find((o) => o.duty === "attester" && o.reason === "duty_fetch_failed")?.perNode, {
      3: 8,
    });
    // The kill at slot 4 (until slot 11) overlaps their window: they count among the failures while it lasted.
    assert.equal(r.faults[0]?.reasons.duty_fetch_failed, 9);
  });

  it("passes a run that met every target, and fails one whose slashing audit could not read every node", () => {
    const f = healthy();
    const r = buildReport(f);
    assert.deepEqual(
      r.targets.filter((t) => !t.met),
      [],
    );
    assert.equal(r.passed, true);
    assert.match(
      renderMarkdown(r),
      /\| no missed proposal \| 0 missed in 2 epoch\(s\) with a quorum up \| none outside epochs without a quorum \| pass \|/,
    );
    f.slashing = {...f.slashing, nodes: [1, 2, 3], errors: ["node 4: cannot open"]};
    assert.equal(buildReport(f).targets.find((t) => t.name === "no slashable signature")?.met, false);
  });

  it("shows each node's block verdicts, and fails a run where a block was judged invalid or a node verified none", () => {
    const f = healthy();
    const r = buildReport(f);
    assert.deepEqual(r.verification[0], {
      node: 1,
      verified: 15,
      executed: 15,
      invalid: 0,
      unavailable: 0,
      invalidSlots: [],
      invalidRoots: [],
      p50Ms: 29,
      p99Ms: 36,
      executionP50Ms: 17,
      executionP99Ms: 24,
    });
    assert.match(
      renderMarkdown(r),
      /## Block verification[\s\S]*\| 1 \| 15 \| 15 \| 0 \| 0 \| 29 ms \/ 36 ms \| 17 ms \/ 24 ms \|/,
    );
    // A verified block whose payload was taken as given: the devnet's nodes have an execution endpoint.
    const given = healthy();
    given.verdicts = given.verdicts.map((v) => (v.node === 2 && v.slot === 3 ? {...v, executed: undefined} : v));
    const notExecuted = buildReport(given).targets.find((t) => t.name === "block verification");
    assert.equal(notExecuted?.met, false);
    assert.match(notExecuted?.measured ?? "", /60 blocks verified by nodes .*, 59 with their payload re-executed/);
    // Node 3 judged slot 7's block invalid after first finding it unverifiable: its newest verdict counts.
    const root7 = `0x${(7).toString(16).padStart(64, "0")}`;
    f.verdicts = f.verdicts.filter((v) => !(v.node === 3 && v.slot === 7));
    f.verdicts.push({node: 3, status: "unavailable", root: root7, slot: 7, reason: "fetch_failed"});
    f.verdicts.push({node: 3, status: "invalid", root: root7, slot: 7, reason: "bad_state_root"});
    const bad = buildReport(f).targets.find((t) => t.name === "block verification");
    assert.equal(bad?.met, false);
    assert.match(bad?.measured ?? "", /invalid: node 3 slots 7/);
    f.verdicts = f.verdicts.filter((v) => v.node !== 4 && v.status !== "invalid");
    f.verdictsFrom = [1, 2, 3];
    assert.equal(
      buildReport(f).targets.find((t) => t.name === "block verification")?.met,
      true,
      "node 4, down at the end (its series not read), is not judged",
    );
    f.verdictsFrom = [1, 2, 3, 4];
    assert.equal(
      buildReport(f).targets.find((t) => t.name === "block verification")?.met,
      false,
      "node 4, read at the end, verified none",
    );
  });

  it("with --verify off judges no verdicts or views (there are none), and still judges what was signed over an invalid head", () => {
    const f = healthy();
    f.verify = "off";
    f.verdicts = [];
    f.views = [];
    const r = buildReport(f);
    const names = r.targets.map((t) => t.name);
    assert.ok(!names.includes("block verification") && !names.includes("block views shared"), names.join(", "));
    assert.equal(r.passed, true, JSON.stringify(r.targets.filter((t) => !t.met)));
    assert.match(renderMarkdown(r), /## Block verification\n\nOff \(`--verify off`\)/);
    f.invalidHeads = [{slot: 5, root: `0x${"bd".repeat(32)}`, attesters: [3], syncMembers: [], childSlots: []}];
    assert.equal(buildReport(f).targets.find((t) => t.name === "nothing signed over an invalid head")?.met, false);
  });

  it("judges an injected invalid head: every node up must find it invalid, and nothing may be signed over it", () => {
    const f = healthy();
    const bad = `0x${"bd".repeat(32)}`;
    const good = `0x${(5).toString(16).padStart(64, "0")}`;
    f.invalidHeads = [{slot: 5, root: bad, attesters: [], syncMembers: [], childSlots: []}];
    for (const node of [1, 2, 3, 4])
      f.verdicts.push({node, status: "invalid", root: bad, slot: 5, reason: "bad_state_root", totalMs: 30});
    for (const d of f.duties) if (d.slot === 5) d.headReplaced = {from: bad, to: good};
    const r = buildReport(f);
    const met = (name: string, report = r) => report.targets.find((t) => t.name === name)?.met;
    assert.equal(met("block verification"), true, "the injected head is the one invalid verdict allowed");
    assert.equal(met("nothing signed over an invalid head"), true);
    assert.equal(r.passed, true);
    assert.deepEqual(r.invalidHeads[0]?.judgedInvalidBy, [1, 2, 3, 4]);
    assert.deepEqual(r.invalidHeads[0]?.votedInstead, [
      {root: good, results: f.duties.filter((d) => d.slot === 5).length},
    ]);
    assert.match(
      renderMarkdown(r),
      /## Invalid heads[\s\S]*\| 5 \| 0xbdbd…bdbd \| nodes 1, 2, 3, 4 \(bad_state_root\) \| 0 attestations, 0 sync messages, 0 blocks \| 0x0000…0005 \(\d+ results\) \|/,
    );

    // Node 2 was down at slot 5 (facts(): nodes 1 and 2 down in slots 4-11, no duty result there): it never heard
    // of the block.
    f.verdicts = f.verdicts.filter((v) => !(v.node === 2 && v.root === bad));
    assert.equal(met("block verification", buildReport(f)), true, "node 2, down at slot 5, is not judged on it");
    f.verdicts = f.verdicts.filter((v) => !(v.node === 3 && v.root === bad));
    const missed = buildReport(f);
    assert.equal(met("block verification", missed), false, "node 3 ran slot 5's duties and never judged the block");
    assert.match(
      missed.targets.find((t) => t.name === "block verification")?.measured ?? "",
      /not judged invalid by node\(s\) 3/,
    );

    f.invalidHeads = [{slot: 5, root: bad, attesters: [3], syncMembers: [], childSlots: [6]}];
    const signed = buildReport(f);
    assert.equal(met("nothing signed over an invalid head", signed), false);
    assert.match(
      signed.targets.find((t) => t.name === "nothing signed over an invalid head")?.measured ?? "",
      /slot 5: 1 attestation\(s\), 0 sync message\(s\), 1 block\(s\) over it/,
    );
  });

  it("fails a run that missed a proposal while 3 of 4 nodes were up", () => {
    const f = healthy();
    miss(f, 6);
    const r = buildReport(f);
    assert.deepEqual(r.epochsWithoutQuorum, []);
    assert.deepEqual(
      r.targets.filter((t) => !t.met).map((t) => [t.name, t.measured]),
      [["no missed proposal", "1 missed (slots 6) in 2 epoch(s) with a quorum up"]],
    );
    assert.equal(r.passed, false);
  });

  it("excuses missed proposals, sync bits and aggregates of an epoch where a fault left no quorum, and judges the rest", () => {
    const f = healthy();
    // Nodes 1 and 2 killed at slot 8 (epoch 1), both back and submitting from slot 12.
    f.faults = [
      {event: {action: "kill", node: 1, epoch: 1}, slot: 8, at: 16_000, pid: 11},
      {event: {action: "kill", node: 2, epoch: 1}, slot: 8, at: 16_000, pid: 12},
      {event: {action: "start", node: 1, epoch: 1}, slot: 12, at: 24_000, pid: 13},
      {event: {action: "start", node: 2, epoch: 1}, slot: 12, at: 24_000, pid: 14},
    ];
    const e1 = f.effectiveness.epochs[1] as EffectivenessAnswer["epochs"][number];
    for (const slot of [8, 9, 10, 11]) miss(f, slot);
    e1.sync_committee = {blocks: 4, bits_set: 0, participation: 0};
    e1.aggregates = {accepted: 4, included: 0};
    let r = buildReport(f);
    assert.deepEqual(r.epochsWithoutQuorum, [1]);
    assert.deepEqual(
      r.targets.filter((t) => !t.met),
      [],
    );
    // The same misses in epoch 0, where every node was up, fail each target.
    const e0 = f.effectiveness.epochs[0] as EffectivenessAnswer["epochs"][number];
    miss(f, 3);
    e0.sync_committee = {blocks: 7, bits_set: 7 * 32 - 32, participation: (7 * 32 - 32) / (7 * 32)};
    e0.aggregates = {accepted: 4, included: 3};
    r = buildReport(f);
    assert.deepEqual(
      r.targets.filter((t) => !t.met).map((t) => t.name),
      ["sync committee participation", "aggregates included", "no missed proposal"],
    );
    assert.match(
      r.targets.find((t) => t.name === "sync committee participation")?.measured ?? "",
      /^85\.7% of the sync committee bits in 7 blocks of 1 epoch\(s\) with a quorum up; epochs 1 excused/,
    );
  });

  it("fails a run in which no aggregate was accepted: every accepted aggregate included proves nothing then", () => {
    const f = healthy();
    for (const e of f.effectiveness.epochs) e.aggregates = {accepted: 0, included: 0};
    assert.deepEqual(
      buildReport(f)
        .targets.filter((t) => !t.met)
        .map((t) => t.name),
      ["aggregates included"],
    );
  });
});

describe("devnet report: proposals by path", () => {
  it("counts each proposal slot once by the path its block took, missed on chain first, with each stage's p50/p99", () => {
    const f = healthy();
    const proposal = (node: number, slot: number, path: string, status: string, submit: number): DutyRecord => ({
      node,
      seq: 1000 + slot * 10 + node,
      duty: "proposer",
      slot,
      validatorIndex: slot % 8,
      status,
      path,
      stages: {randao: 5, fetch: submit - 200, consensus: submit - 100, sign: submit - 50, submit},
    });
    for (const node of [1, 2, 3, 4]) {
      f.duties.push(proposal(node, 1, "builder", "submitted", 400 + node));
      f.duties.push(proposal(node, 2, "local", "submitted", 600 + node));
      f.duties.push(proposal(node, 3, "builder", "failed", 0));
    }
    miss(f, 3);
    const r = buildReport(f);
    assert.deepEqual(
      r.proposals.map((p) => [p.path, p.slots]),
      [
        ["builder", [1]],
        ["local", [2]],
        ["missed", [3]],
      ],
    );
    const builder = r.proposals[0];
    assert.deepEqual(
      builder?.stages.find((s) => s.stage === "submit"),
      {stage: "submit", p50: 402, p99: 404, budget: 667, over: 0},
    );
    // 2 s slots: the fetch budget is 333 ms, and the local blocks were fetched at 401-404 ms.
    assert.deepEqual(
      r.proposals[1]?.stages.find((s) => s.stage === "fetch"),
      {stage: "fetch", p50: 402, p99: 404, budget: 333, over: 4},
    );
    const md = renderMarkdown(r);
    assert.match(md, /## Proposals/);
    assert.match(md, /fetch p50\/p99 \(budget 333\)/);
    assert.match(md, /\| builder \| 1 \| 1 \| 5 ms \/ 5 ms \| 202 ms \/ 204 ms \|/);
    assert.match(md, /\| local \| 1 \| 2 \| 5 ms \/ 5 ms \| 402 ms \/ 404 ms \(4 over\) \|/);
  });

  it("judges block views: each node shares one per block slot it ran duties in, and every other node holds them", () => {
    const ok = buildReport(facts());
    const line = (o: number) => ok.sharing.find((l) => l.origin === o);
    // Nodes 1 and 2 were down in slots 4-11: 7 block slots of 15 are theirs to cover, and all are.
    assert.deepEqual(line(1), {
      origin: 1,
      sent: 7,
      slotsUp: 7,
      slotsCovered: 7,
      heldBy: [
        {node: 2, held: 7},
        {node: 3, held: 7},
        {node: 4, held: 7},
      ],
    });
    assert.equal(line(4)?.slotsUp, 15);
    assert.match(renderMarkdown(ok), /## Block views shared[\s\S]*\| 4 \| 15 \| 15 of 15 \| 15 \(100.0%\) \|/);

    // Node 3 holds only the first half of node 4's views (a push path that drops them), and node 2 shared none
    // for slots 12-15 though it ran duties then.
    const f = facts();
    f.views = f.views.filter(
      (v) => !(v.holder === 3 && v.origin === 4 && v.slot > 7) && !(v.origin === 2 && v.slot >= 12),
    );
    const bad = buildReport(f);
    const t = bad.targets.find((x) => x.name === "block views shared");
    assert.equal(t?.met, false);
    assert.match(t?.measured ?? "", /node 2: valid views for 3 of 7 block slots/);
    assert.match(
      t?.measured ?? "",
      /node 4: valid views for 15 of 15 block slots it ran duties in, held by 1 \(100.0%\), 2 \(100.0%\), 3 \(46.7%\)/,
    );

    const silent = facts();
    silent.views = silent.views.filter((v) => !(v.origin === 3 && v.slot % 2 === 0));
    const gap = buildReport(silent).targets.find((x) => x.name === "block views shared");
    assert.equal(gap?.met, false);
    assert.match(gap?.measured ?? "", /node 3: valid views for 8 of 15 block slots/);
  });
});

/** facts() with every duty on chain and one fault: node 2 down in slots 4-11, so 3 of 4 (the threshold) stay up. */
function healthy(): RunFacts {
  const f = facts();
  for (const e of f.effectiveness.epochs) {
    for (const v of e.validators) Object.assign(v, {included: true, correct_target: true, inclusion_delay: 1});
    for (const p of e.proposals) p.proposed = true;
    e.missed_proposals = [];
    e.sync_committee = {blocks: 8, bits_set: 8 * 32, participation: 1};
    e.aggregates = {accepted: 4, included: 4};
  }
  f.faults = f.faults.filter((x) => x.event.node === 2);
  return f;
}

/** The proposal of `slot` did not make it on chain. */
function miss(f: RunFacts, slot: number): void {
  const e = f.effectiveness.epochs[Math.floor(slot / 8)] as EffectivenessAnswer["epochs"][number];
  (e.proposals.find((p) => p.slot === slot) as {proposed: boolean}).proposed = false;
  e.missed_proposals = [...e.missed_proposals, slot].sort((a, b) => a - b);
}
