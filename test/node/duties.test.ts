import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {MULTIPROCESS_LOCK, type NodeProc, type TestCluster, makeCluster, ipc, spawnNode} from "../helpers/cluster.js";
import {acquireExclusive} from "../helpers/exclusive.js";
import {type Effectiveness, type RunningDevnet, getJson, spawnDevnet} from "../devnet/helpers.js";

const SLOT_MS = 2000;
const EPOCH_MS = 8 * SLOT_MS;

type DutyEntry = {type: string; body?: {duty: string; status: string; slot: number; reason?: string; detail?: string}};

/**
 * Sync committee participation (from the blocks' sync aggregates) at least 95% in each epoch, every aggregate
 * the devnet accepted on chain, every validator's committee subscription sent, and node `node`'s series holding
 * a submitted aggregator result for every aggregator duty of those epochs.
 */
async function assertSyncAndAggregation(
  devnet: RunningDevnet,
  node: NodeProc,
  fromEpoch: number,
  toEpoch: number,
): Promise<string> {
  const {body} = await getJson<Effectiveness>(
    `${devnet.url}/r3dv/v1/effectiveness?from_epoch=${fromEpoch}&to_epoch=${toEpoch}`,
  );
  const series = await ipc<{entries: DutyEntry[]}>(node, "series", {tail: 10_000, kind: "duty_result"});
  const inRange = series.entries.flatMap((e) =>
    e.body && e.body.slot >= fromEpoch * 8 && e.body.slot < (toEpoch + 1) * 8 ? [e.body] : [],
  );
  const count = (duty: string) => {
    const by: Record<string, number> = {};
    for (const r of inRange.filter((x) => x.duty === duty))
      by[`${r.status}:${r.reason ?? ""}`] = (by[`${r.status}:${r.reason ?? ""}`] ?? 0) + 1;
    return JSON.stringify(by);
  };
  assert.equal(body.data.epochs.length, toEpoch - fromEpoch + 1);
  for (const e of body.data.epochs) {
    assert.ok(
      (e.sync_committee.participation ?? 0) >= 0.95,
      `epoch ${e.epoch}: sync ${JSON.stringify(e.sync_committee)}; node ${node.index} sync_message ${count("sync_message")} sync_contribution ${count("sync_contribution")}`,
    );
    assert.ok(
      e.aggregates.accepted > 0 && e.aggregates.included === e.aggregates.accepted,
      `epoch ${e.epoch}: aggregates ${JSON.stringify(e.aggregates)}`,
    );
    assert.equal(
      e.subscriptions.beacon_committee,
      64,
      `epoch ${e.epoch}: subscriptions ${JSON.stringify(e.subscriptions)}`,
    );
  }
  const aggregations = inRange.filter((r) => r.duty === "aggregator" && r.status !== "not_selected");
  assert.ok(
    aggregations.length > 0 && aggregations.every((r) => r.status === "submitted"),
    `node ${node.index} aggregator results: ${count("aggregator")}`,
  );
  assert.ok(
    inRange.some((r) => r.duty === "sync_contribution" && r.status === "submitted"),
    `node ${node.index} sync_contribution results: ${count("sync_contribution")}`,
  );
  const perEpoch = body.data.epochs.map(
    (e) =>
      `${e.epoch}: sync ${((e.sync_committee.participation ?? 0) * 100).toFixed(1)}%, aggregates ${e.aggregates.included}/${e.aggregates.accepted}`,
  );
  return `${perEpoch.join("; ")}; node ${node.index} sync_message ${count("sync_message")}, aggregator ${count("aggregator")}`;
}

/**
 * The whole product as an operator runs it: four `r3dv run` processes of a 3-of-4 cluster (libp2p push
 * network, series, store role, validator role) run all 64 validators of the embedded devnet, which signs nothing
 * itself: attestations, proposals, aggregation, sync committee messages and contributions, subscriptions.
 * The chain's own state says how they did. A node killed mid-run is `r3dv devnet`'s own scenario: its report
 * judges the same duties with one node down (test/devnetCluster/devnetRun.test.ts).
 */
describe("four r3dv run processes run 64 validators on the devnet", {timeout: 900_000}, () => {
  let release: () => Promise<void>;
  let devnet: RunningDevnet;
  let cluster: TestCluster;
  const nodes: NodeProc[] = [];

  before(async () => {
    release = await acquireExclusive(MULTIPROCESS_LOCK);
    cluster = await makeCluster(4, 64);
    // Genesis far enough ahead for four processes to decrypt 64 keystores each on two cores.
    devnet = await spawnDevnet([
      "--validators",
      "64",
      "--own",
      "none",
      "--slot-ms",
      String(SLOT_MS),
      "--genesis-delay",
      "25",
      "--log-level",
      "warn",
    ]);
    for (let i = 1; i <= 4; i++) nodes.push(await spawnNode(cluster, i, devnet.url, ["--log-level", "warn"]));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await devnet?.stop();
    await cluster?.cleanup();
    await release?.();
  });

  it("finalizes with at least 99% of attestations included on target and every proposal made, and records each duty", async () => {
    // Epochs 1..3 complete, and one more for their last attestations to be included.
    await new Promise((r) => setTimeout(r, Math.max(0, devnet.genesisTime * 1000 + 5 * EPOCH_MS - Date.now())));
    const finality = await getJson<{data: {finalized: {epoch: string}}}>(
      `${devnet.url}/eth/v1/beacon/states/head/finality_checkpoints`,
    );
    assert.ok(Number(finality.body.data.finalized.epoch) >= 2, `finalized ${JSON.stringify(finality.body.data)}`);
    const {body} = await getJson<Effectiveness>(`${devnet.url}/r3dv/v1/effectiveness?from_epoch=1&to_epoch=3`);
    const all = body.data.epochs.flatMap((e) => e.validators);
    const good = all.filter((v) => v.included && v.correct_target).length;
    assert.equal(all.length, 3 * 64);
    const perEpoch = body.data.epochs
      .map((e) => `epoch ${e.epoch}: ${e.validators.filter((v) => v.included && v.correct_target).length}`)
      .join(", ");
    assert.ok(good >= all.length * 0.99, `${good} of ${all.length} attestations included on target (${perEpoch})`);
    assert.deepEqual(
      body.data.epochs.flatMap((e) => e.missed_proposals),
      [],
    );

    const entries = await ipc<{entries: DutyEntry[]}>(nodes[0] as NodeProc, "series", {tail: 50, kind: "duty_result"});
    assert.ok(
      entries.entries.length > 0 && entries.entries.every((e) => e.type === "duty_result"),
      JSON.stringify(entries).slice(0, 300),
    );
    const metrics = await fetch(`${(nodes[0] as NodeProc).http}/metrics`).then((r) => r.text());
    assert.match(metrics, /r3dv_duty_results_total\{duty="attester",status="submitted",reason=""\} [1-9]/);
    assert.match(metrics, /r3dv_duty_results_total\{duty="sync_message",status="submitted",reason=""\} [1-9]/);
  });

  it("fills at least 95% of the sync aggregates per epoch, publishes every aggregation and gets every aggregate on chain", async (t) => {
    t.diagnostic(await assertSyncAndAggregation(devnet, nodes[0] as NodeProc, 1, 3));
  });
});
