import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import type {NodeStatus} from "../../src/node/status.js";
import {
  MULTIPROCESS_LOCK,
  type NodeProc,
  type TestCluster,
  ipc,
  makeCluster,
  runCli,
  spawnNode,
  waitFor,
} from "../helpers/cluster.js";
import {acquireExclusive} from "../helpers/exclusive.js";
import {type RunningDevnet, sleep, devnetArgs, spawnDevnet} from "../devnet/helpers.js";

/** 4 s slots, as the other multi-process runs: each judged step has the time it needs on a busy machine. */
const SLOT_MS = 4000;
const SLOTS_PER_EPOCH = 8;
/**
 * The devnet's 32 validators: it signs for 0..19 itself, the cluster holds 8..23. So 8..19 are live elsewhere
 * (the devnet plays a solo client nobody stopped after its keys were split) and 20..23 are the cluster's alone.
 * The devnet proposing for 20 of 32 keeps its chain growing while the cluster checks.
 */
const DEVNET_OWN = "0..19";
const CLUSTER_FIRST = 8;
const CLUSTER_VALIDATORS = 16;
const ELSEWHERE = Array.from({length: 12}, (_, k) => CLUSTER_FIRST + k);
const OURS = [20, 21, 22, 23];
/** The cluster starts in epoch 1: the check reads epochs 0 and 1, so its own validators sign from epoch 2. */
const START_SLOT = SLOTS_PER_EPOCH + 1;

type Result = {duty: string; status: string; slot: number; validatorIndex?: number; reason?: string; detail?: string};

/**
 * Doppelganger protection on by default, in `r3dv run` processes started while another signer (the devnet's own
 * validator client) signs with some of the cluster's keys: those keys are never signed with and each is named
 * with what to do; the cluster's other validators sign after one epoch's check.
 */
describe("doppelganger protection in a cluster started beside another signer", {timeout: 600_000}, () => {
  let release: () => Promise<void>;
  let devnet: RunningDevnet;
  let cluster: TestCluster;
  const nodes: NodeProc[] = [];

  before(async () => {
    release = await acquireExclusive(MULTIPROCESS_LOCK);
    cluster = await makeCluster(4, CLUSTER_VALIDATORS, CLUSTER_FIRST);
    devnet = await spawnDevnet(devnetArgs({validators: 32, own: DEVNET_OWN, slotMs: SLOT_MS, genesisDelaySec: 5}));
    await sleep(Math.max(0, devnet.genesisTime * 1000 + START_SLOT * SLOT_MS - Date.now()));
    for (let i = 1; i <= 4; i++) nodes.push(await spawnNode(cluster, i, devnet.url, ["--log-level", "warn"]));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await devnet?.stop();
    await cluster?.cleanup();
    await release?.();
  });

  it("never signs with the keys live elsewhere, names each with what to do, and signs with the others from the next epoch", async () => {
    // One epoch's check after the duties start (epoch 1, or 2 on a slow start): every node decided.
    const decidedAt = await waitFor(
      "every node's check decided",
      async () => {
        const all = await Promise.all(nodes.map((n) => ipc<NodeStatus>(n, "status")));
        return all.every((s) => s.doppelganger.counts.checking === 0 && s.doppelganger.counts.safe > 0) && all[0]?.slot;
      },
      3 * SLOTS_PER_EPOCH * SLOT_MS,
      1000,
    );
    // The first epoch wholly after the decision, judged two slots into the next (its duties all have results).
    const JUDGED_EPOCH = Math.floor(decidedAt / SLOTS_PER_EPOCH) + 1;
    await sleep(
      Math.max(0, devnet.genesisTime * 1000 + ((JUDGED_EPOCH + 1) * SLOTS_PER_EPOCH + 2) * SLOT_MS - Date.now()),
    );
    for (const n of nodes) {
      const s = await ipc<NodeStatus>(n, "status");
      assert.deepEqual(s.doppelganger.counts, {checking: 0, safe: 4, live_elsewhere: 12, off: 0}, `node ${n.index}`);
      assert.deepEqual(
        s.doppelganger.notSigning.map((v) => v.index).sort((a, b) => (a ?? 0) - (b ?? 0)),
        ELSEWHERE,
        `node ${n.index}`,
      );
      for (const v of s.doppelganger.notSigning) {
        assert.equal(v.state, "live_elsewhere");
        assert.ok(v.liveEpoch !== undefined && v.liveEpoch < JUDGED_EPOCH, JSON.stringify(v));
      }
    }

    const text = await runCli(["status", "--ipc", nodes[0]?.ipc as string]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /doppelganger protection: 4 safe, 0 checking, 12 live elsewhere/);
    assert.match(
      text.stdout,
      /validator 8 live_elsewhere: doppelganger protection: validator 8 was live in epoch \d+ and this cluster signed nothing for it then: another signer holds its key .* Stop the other signer/,
    );
    const health = await runCli(["health", "--ipc", nodes[0]?.ipc as string]);
    assert.equal(health.code, 1, "a key live elsewhere is critical");
    assert.match(health.stdout, /doppelganger/);

    // The judged epoch's attestations: the cluster's own validators' done, the others refused with the reason.
    const series = await ipc<{entries: {body?: Result}[]}>(nodes[0] as NodeProc, "series", {
      tail: 10_000,
      kind: "duty_result",
    });
    const attester = series.entries.flatMap((e) =>
      e.body?.duty === "attester" && Math.floor(e.body.slot / SLOTS_PER_EPOCH) === JUDGED_EPOCH ? [e.body] : [],
    );
    const of = (indices: number[]) => attester.filter((r) => indices.includes(r.validatorIndex ?? -1));
    assert.equal(of(OURS).length, OURS.length, JSON.stringify(attester));
    for (const r of of(OURS)) assert.ok(r.status === "submitted" || r.status === "late", JSON.stringify(r));
    assert.equal(of(ELSEWHERE).length, ELSEWHERE.length, JSON.stringify(attester));
    for (const r of of(ELSEWHERE)) {
      assert.equal(r.status, "failed", JSON.stringify(r));
      assert.equal(r.reason, "doppelganger", JSON.stringify(r));
      assert.match(r.detail ?? "", /another signer holds its key/);
    }
    // The beacon node saw the cluster's validators sign in the judged epoch.
    const live = await fetch(`${devnet.url}/eth/v1/validator/liveness/${JUDGED_EPOCH}`, {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify(OURS.map(String)),
    }).then((r) => r.json() as Promise<{data: {index: string; is_live: boolean}[]}>);
    assert.deepEqual(
      live.data.map((d) => d.is_live),
      [true, true, true, true],
    );

    const metrics = await fetch(`${nodes[0]?.http}/metrics`).then((r) => r.text());
    assert.match(metrics, /r3dv_doppelganger_validators\{state="live_elsewhere"\} 12/);
    assert.match(metrics, /r3dv_duty_results_total\{duty="attester",status="failed",reason="doppelganger"\} [1-9]/);
    const recorded = await ipc<{entries: {body?: {index?: number; state: string}}[]}>(nodes[0] as NodeProc, "series", {
      tail: 1000,
      kind: "doppelganger",
    });
    assert.deepEqual(
      recorded.entries
        .filter((e) => e.body?.state === "live_elsewhere")
        .map((e) => e.body?.index)
        .sort((a, b) => (a ?? 0) - (b ?? 0)),
      ELSEWHERE,
    );
  });
});
