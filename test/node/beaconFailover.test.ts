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
} from "../helpers/cluster.js";
import {acquireExclusive} from "../helpers/exclusive.js";
import {FaultyProxy} from "../helpers/faultyProxy.js";
import {type Effectiveness, type RunningDevnet, getJson, spawnDevnet} from "../devnet/helpers.js";

const SLOT_MS = 2000;
const EPOCH_MS = 8 * SLOT_MS;
/**
 * The first beacon nodes die in epoch 3, slot 4 (slot 28), 700 ms in: just after attestations fall due, with
 * reads and submissions in flight. Epoch 3, not earlier: the epoch before the kill must be judged too, and
 * epoch 1 can still see four processes decrypting 64 keystores each on a loaded two-core machine.
 */
const KILL_EPOCH = 3;
const KILL_AT_MS = KILL_EPOCH * EPOCH_MS + 4 * SLOT_MS + 700;

const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

/**
 * Each of four `r3dv run` processes (3-of-4, all 64 validators of the embedded devnet, which signs nothing
 * itself) is given two beacon endpoints: its own HTTP proxy in front of the devnet, listed first, and the
 * devnet itself. Mid-run every proxy is closed with its sockets destroyed: to the node that is a beacon node
 * whose process died (connections reset mid-request, the port refusing new ones). The chain says whether a
 * duty was missed.
 */
describe("four r3dv nodes with two beacon nodes each survive the first one dying", {timeout: 900_000}, () => {
  let release: () => Promise<void>;
  let devnet: RunningDevnet;
  let cluster: TestCluster;
  const proxies: FaultyProxy[] = [];
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
    for (let i = 1; i <= 4; i++) {
      const proxy = new FaultyProxy(devnet.url);
      await proxy.start();
      proxies.push(proxy);
      nodes.push(await spawnNode(cluster, i, `${proxy.url},${devnet.url}`, ["--log-level", "warn"]));
    }
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await Promise.all(proxies.map((p) => p.stop()));
    await devnet?.stop();
    await cluster?.cleanup();
    await release?.();
  });

  it("misses no attestation or proposal around the kill, fails no duty for a beacon reason, and shows the dead node benched", async () => {
    const genesisMs = devnet.genesisTime * 1000;
    await sleepUntil(genesisMs + KILL_AT_MS);
    const passedBeforeKill = proxies.map((p) => p.passed);
    await Promise.all(proxies.map((p) => p.stop()));
    // Every node read its first beacon node while it lived (duties, attestation data, blocks): it was really used.
    assert.ok(
      passedBeforeKill.every((n) => n > 50),
      `requests through each first beacon node: ${passedBeforeKill.join(", ")}`,
    );

    // The epochs before, of and after the kill, and one more for the last of their attestations to be included.
    await sleepUntil(genesisMs + (KILL_EPOCH + 3) * EPOCH_MS + SLOT_MS);
    const {body} = await getJson<Effectiveness>(
      `${devnet.url}/r3dv/v1/effectiveness?from_epoch=${KILL_EPOCH - 1}&to_epoch=${KILL_EPOCH + 1}`,
    );
    const all = body.data.epochs.flatMap((e) => e.validators.map((v) => ({...v, epoch: e.epoch})));
    const bad = all.filter((v) => !(v.included && v.correct_target));
    assert.equal(all.length, 3 * 64);
    if (bad.length > 0) {
      // Say which duties those were and how each stage went, so a miss can be told from a late block.
      const duties = await ipc<{entries: {body?: {slot: number}}[]}>(nodes[0] as NodeProc, "series", {
        tail: 2000,
        kind: "duty_result",
      });
      const slots = new Set(bad.map((v) => (v as unknown as {duty: {slot: number}}).duty.slot));
      const trail = duties.entries
        .filter((e) => e.body && (slots.has(e.body.slot) || slots.has(e.body.slot + 1)))
        .map((e) => JSON.stringify(e.body));
      assert.fail(
        `${bad.length} of ${all.length} attestations missed or off target: ${JSON.stringify(bad.map((v) => [v.epoch, v.index, v.included, v.correct_target]))}\nnode 1's duty results there:\n${trail.join("\n")}`,
      );
    }
    const missed = body.data.epochs.flatMap((e) => e.missed_proposals);
    if (missed.length > 0) {
      const trails = await Promise.all(
        nodes.map((n) =>
          ipc<{entries: {body?: {duty: string; slot: number}}[]}>(n, "series", {tail: 2000, kind: "duty_result"}),
        ),
      );
      const trail = trails.flatMap((t, i) =>
        t.entries
          .filter((e) => e.body?.duty === "proposer" && missed.includes(e.body.slot))
          .map((e) => `node ${i + 1}: ${JSON.stringify(e.body)}`),
      );
      assert.fail(
        `missed proposals ${missed.join(", ")} (the kill was in slot ${KILL_EPOCH * 8 + 4}); duty results there:\n${trail.join("\n")}`,
      );
    }

    for (const n of nodes) {
      const metrics = await fetch(`${n.http}/metrics`).then((r) => r.text());
      const failed = metrics
        .split("\n")
        .filter((l) => /^r3dv_duty_results_total\{.*status="failed"/.test(l) && !/ 0$/.test(l));
      // No attestation or proposal failed at all, and no duty of any kind for a beacon node's reason. An
      // aggregation whose partial signatures missed their 2/3-slot deadline on this loaded two-core machine
      // (no_quorum or recover_timeout) is the exchange's timing, not the beacon nodes': it is printed, not failed on.
      const beaconCaused = failed.filter((l) =>
        /duty="(attester|proposer)"|reason="(beacon_unavailable|submit_failed)"/.test(l),
      );
      if (beaconCaused.length > 0) {
        const series = await ipc<{
          entries: {body?: {duty: string; slot: number; status: string; reason?: string; detail?: string}}[];
        }>(n, "series", {tail: 10_000, kind: "duty_result"});
        const why = series.entries.flatMap((e) =>
          e.body?.status === "failed" && /beacon_unavailable|submit_failed/.test(e.body.reason ?? "")
            ? [`slot ${e.body.slot} ${e.body.duty} ${e.body.reason}: ${e.body.detail ?? ""}`]
            : [],
        );
        assert.fail(
          `node ${n.index} failed duties for a beacon reason: ${beaconCaused.join("; ")}\n${[...new Set(why)].join("\n")}`,
        );
      }
      if (failed.length > 0) console.warn(`node ${n.index} failed duties for other reasons: ${failed.join("; ")}`);
      assert.match(metrics, /r3dv_duty_results_total\{duty="attester",status="submitted",reason=""\} [1-9]/);
      const proxyLabel = proxies[n.index - 1]?.url as string;
      assert.match(
        metrics,
        new RegExp(`r3dv_beacon_node_healthy\\{beacon="${proxyLabel}"\\} 0`),
        `node ${n.index}: first beacon node unhealthy`,
      );
      assert.match(metrics, new RegExp(`r3dv_beacon_node_healthy\\{beacon="${devnet.url}"\\} 1`));
      assert.match(
        metrics,
        new RegExp(`r3dv_beacon_benched_total\\{beacon="${proxyLabel}",reason="unreachable"\\} [1-9]`),
      );
      assert.match(
        metrics,
        new RegExp(`r3dv_beacon_requests_total\\{beacon="${devnet.url}",kind="read",result="ok"\\} [1-9]`),
      );

      const status = await ipc<NodeStatus>(n, "status");
      assert.deepEqual(
        status.beacons.map((b) => [b.url, b.health]),
        [
          [proxyLabel, "benched"],
          [devnet.url, "healthy"],
        ],
      );
      assert.equal(status.ready.beaconSynced, true, "ready on the surviving beacon node");
    }
    const text = await runCli(["status", "--ipc", (nodes[0] as NodeProc).ipc]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`beacon 1 ${proxies[0]?.url} benched \\(unreachable`));
    assert.match(text.stdout, new RegExp(`beacon 2 ${devnet.url} healthy, latency [0-9.]+ ms, head \\d+`));
    const health = await ipc<{entries: {body?: {url: string; health: string}}[]}>(nodes[0] as NodeProc, "series", {
      tail: 20,
      kind: "beacon_health",
    });
    assert.ok(
      health.entries.some((e) => e.body?.url === proxies[0]?.url && e.body?.health === "benched"),
      JSON.stringify(health).slice(0, 400),
    );
  });
});
