import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {MULTIPROCESS_LOCK, type NodeProc, type TestCluster, makeCluster, ipc, spawnNode} from "../helpers/cluster.js";
import {acquireExclusive} from "../helpers/exclusive.js";
import {type Effectiveness, type RunningDevnet, getJson, spawnDevnet} from "../devnet/helpers.js";

const SLOT_MS = 2000;
const EPOCH_MS = 8 * SLOT_MS;


/**
 * The whole product as an operator runs it: four `r3dv run` processes of a 3-of-4 cluster (libp2p push
 * network, series, store role, EVM role) run all 64 validators of the embedded devnet, which signs nothing
 * itself. The chain's own state says how they did.
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
    devnet = await spawnDevnet(["--validators", "64", "--own", "none", "--slot-ms", String(SLOT_MS), "--genesis-delay", "25", "--log-level", "warn"]);
    for (let i = 1; i <= 4; i++) nodes.push(await spawnNode(cluster, i, devnet.url, ["--log-level", "warn"]));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await devnet?.stop();
    await cluster?.cleanup();
    await release?.();
  });

  it("finalizes with at least 99% of attestations included on target and every proposal made, and records each duty", async () => {
    // Epochs 1..4 complete, and one more for their last attestations to be included.
    await new Promise((r) => setTimeout(r, Math.max(0, devnet.genesisTime * 1000 + 6 * EPOCH_MS - Date.now())));
    const finality = await getJson<{data: {finalized: {epoch: string}}}>(`${devnet.url}/eth/v1/beacon/states/head/finality_checkpoints`);
    assert.ok(Number(finality.body.data.finalized.epoch) >= 2, `finalized ${JSON.stringify(finality.body.data)}`);
    const {body} = await getJson<Effectiveness>(`${devnet.url}/r3dv/v1/effectiveness?from_epoch=1&to_epoch=4`);
    const all = body.data.epochs.flatMap((e) => e.validators);
    const good = all.filter((v) => v.included && v.correct_target).length;
    assert.equal(all.length, 4 * 64);
    assert.ok(good >= all.length * 0.99, `${good} of ${all.length} attestations included on target`);
    assert.deepEqual(body.data.epochs.flatMap((e) => e.missed_proposals), []);

    const entries = await ipc<{entries: {type: string; body?: {duty: string; status: string}}[]}>(nodes[0] as NodeProc, "series", {tail: 50, kind: "duty_result"});
    assert.ok(entries.entries.length > 0 && entries.entries.every((e) => e.type === "duty_result"), JSON.stringify(entries).slice(0, 300));
    const metrics = await fetch(`${(nodes[0] as NodeProc).http}/metrics`).then((r) => r.text());
    assert.match(metrics, /r3dv_duty_results_total\{duty="attester",status="submitted",reason=""\} [1-9]/);
  });
});
