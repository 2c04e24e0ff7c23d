import assert from "node:assert/strict";
import {stat} from "node:fs/promises";
import {after, before, describe, it} from "node:test";
import type {DutyTrail} from "../../src/node/dutyTrail.js";
import type {NodeStatus} from "../../src/node/status.js";
import {deprioritizeWhileStarting} from "../../src/devnetCluster/priority.js";
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
import {FaultyProxy} from "../helpers/faultyProxy.js";
import {type Effectiveness, type RunningDevnet, getJson, sleep, spawnDevnet} from "../devnet/helpers.js";

/**
 * 4 s slots: at 2 s the epoch boundaries' bursts of work (four nodes and the devnet on two shared cores) made a
 * slot's block or votes late in 1 of 2 CI runs, a failure of the machine's timing and not of what is judged here
 * (every duty through each fault reaches the chain). Latency is the benchmarks' (`npm run bench`).
 */
const SLOT_MS = 4000;
const SLOTS_PER_EPOCH = 8;
const VALIDATORS = 64;

/**
 * One run, the faults an operator meets one after another, each judged in its own epochs (one devnet run
 * instead of one per fault: each is minutes of four processes on two cores):
 * - epochs 1 and 2, all four nodes up: sync committee and aggregation duties on time in epoch 2 (epoch 1's first
 *   slot is the first epoch boundary after four processes started on two cores: a slot of sync messages came late
 *   there in CI, as on the Lodestar run);
 * - node 4 SIGKILLed half a slot before epoch 3, dead through epoch 4: the cluster must not notice on chain;
 * - node 4 restarted at epoch 5: it takes part again (epoch 6);
 * - every node's first beacon node dies in epoch 8: nothing missed in epochs 7 to 9 (not 6: node 4 is still
 *   reconnecting in its first slots there, and then misses some partial signatures of the others);
 * - nodes 2 and 3 frozen across a slot's duties in epoch 10: a miss the cluster cannot avoid, which
 *   `r3dv duty` must explain, and the cluster on time again after.
 */
const NODE_4_DIES = 3 * SLOTS_PER_EPOCH;
const NODE_4_RETURNS = 5 * SLOTS_PER_EPOCH;
/** Epoch 8, slot 4, just after attestations fall due (a third of the slot), with reads and submissions in flight. */
const FAILOVER_EPOCH = 8;
const FAILOVER_AT_MS = (FAILOVER_EPOCH * SLOTS_PER_EPOCH + 4) * SLOT_MS + SLOT_MS / 3 + 50;
const FROZEN_SLOT = (FAILOVER_EPOCH + 2) * SLOTS_PER_EPOCH + 4;

/**
 * Attestations that may miss the target in a judged window: one slot's committee. An epoch's first block can come
 * after that slot's attesters voted (a third of the slot), and their votes then name the previous block as the
 * epoch's target: when a node still starting leads its first round (the block a round late, slot 8 after the start
 * and slot 40 after node 4's restart, 2 of 4 quiet runs with 2 s slots), or from the epoch boundary's own work on two
 * shared cores (CI, 2 s slots: block fetched in 345 ms, round 1 decided at 647 ms, published at 754 ms). Anything
 * more is a failure. Proposal timing per stage is issue 16's budget.
 */
const LATE_EPOCH_BLOCK = VALIDATORS / SLOTS_PER_EPOCH;

type Result = {duty: string; status: string; slot: number; reason?: string; detail?: string};

/**
 * Four `r3dv run` processes of a 3-of-4 cluster (libp2p push network, series, store role, validator role) run
 * all 64 validators of the embedded devnet, which signs nothing itself: attestations, proposals, aggregation,
 * sync committee messages and contributions, subscriptions. Each node has two beacon endpoints: its own HTTP
 * proxy in front of the devnet, listed first, and the devnet itself. The chain's own state says how they did.
 */
// R3DV_TEST_KEEP=1 keeps the cluster dir (node logs at info level) for a post-mortem.
describe("a 3-of-4 cluster of r3dv run processes through an operator's faults", {timeout: 900_000}, () => {
  let release: () => Promise<void>;
  let devnet: RunningDevnet;
  let cluster: TestCluster;
  const proxies: FaultyProxy[] = [];
  const nodes = new Map<number, NodeProc>();
  const restarts = new AbortController();
  const node = (i: number) => nodes.get(i) as NodeProc;
  const untilMs = (ms: number) => sleep(Math.max(0, devnet.genesisTime * 1000 + ms - Date.now()));
  const untilSlot = (slot: number) => untilMs(slot * SLOT_MS);
  const beacons = (i: number) => `${proxies[i - 1]?.url},${devnet.url}`;
  const logLevel = process.env.R3DV_TEST_KEEP ? "info" : "warn";

  const effectiveness = async (from: number, to: number) =>
    (await getJson<Effectiveness>(`${devnet.url}/r3dv/v1/effectiveness?from_epoch=${from}&to_epoch=${to}`)).body.data
      .epochs;
  const resultsOf = async (n: NodeProc, fromEpoch: number, toEpoch: number): Promise<Result[]> => {
    const series = await ipc<{entries: {body?: Result}[]}>(n, "series", {tail: 10_000, kind: "duty_result"});
    const from = fromEpoch * SLOTS_PER_EPOCH;
    const to = (toEpoch + 1) * SLOTS_PER_EPOCH;
    return series.entries.flatMap((e) => (e.body && e.body.slot >= from && e.body.slot < to ? [e.body] : []));
  };
  const summary = (rs: Result[]) => {
    const by: Record<string, number> = {};
    for (const r of rs)
      by[`${r.duty}:${r.status}:${r.reason ?? ""}`] = (by[`${r.duty}:${r.status}:${r.reason ?? ""}`] ?? 0) + 1;
    return JSON.stringify(by);
  };

  /**
   * Every attestation of the epochs included on target (at least `share` of them, and `slack` more may miss) and
   * every proposal made.
   */
  async function assertOnChain(from: number, to: number, share: number, slack = 0): Promise<void> {
    const epochs = await effectiveness(from, to);
    const all = epochs.flatMap((e) => e.validators.map((v) => ({...v, epoch: e.epoch})));
    assert.equal(all.length, (to - from + 1) * VALIDATORS);
    const bad = all.filter((v) => !(v.included && v.correct_target));
    if (bad.length > all.length * (1 - share) + slack) {
      // Say which duties those were and how each went on node 1, so a miss can be told from a late block.
      const slots = new Set(bad.map((v) => (v as unknown as {duty: {slot: number}}).duty.slot));
      const trail = (await resultsOf(node(1), from, to + 1))
        .filter((r) => (r.duty === "attester" || r.duty === "proposer") && (slots.has(r.slot) || slots.has(r.slot + 1)))
        .map((r) => JSON.stringify(r));
      assert.fail(
        `${bad.length} of ${all.length} attestations missed or off target in epochs ${from}-${to}: ${JSON.stringify(bad.slice(0, 10).map((v) => [v.epoch, v.index, v.included, v.correct_target]))}\nnode 1's duty results there:\n${[...new Set(trail)].slice(0, 40).join("\n")}`,
      );
    }
    const missed = epochs.flatMap((e) => e.missed_proposals);
    if (missed.length > 0) {
      const trails = await Promise.all(
        [...nodes.values()].map(async (n) =>
          (await resultsOf(n, from, to).catch(() => []))
            .filter((r) => r.duty === "proposer" && missed.includes(r.slot))
            .map((r) => `node ${n.index}: ${JSON.stringify(r)}`),
        ),
      );
      assert.fail(`missed proposals ${missed.join(", ")}; duty results there:\n${trails.flat().join("\n")}`);
    }
  }

  before(async () => {
    release = await acquireExclusive(MULTIPROCESS_LOCK);
    cluster = await makeCluster(4, VALIDATORS);
    // Genesis far enough ahead for four processes to decrypt 64 keystores each on two cores.
    devnet = await spawnDevnet([
      "--validators",
      String(VALIDATORS),
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
      nodes.set(i, await spawnNode(cluster, i, beacons(i), ["--log-level", logLevel]));
    }
  });

  after(async () => {
    restarts.abort();
    for (const n of nodes.values()) n.proc.kill("SIGCONT");
    await Promise.all([...nodes.values()].map((n) => n.kill()));
    await Promise.all(proxies.map((p) => p.stop()));
    await devnet?.stop();
    if (!process.env.R3DV_TEST_KEEP) await cluster?.cleanup();
    await release?.();
  });

  it("with all four nodes, then node 4 SIGKILLed for two epochs: every duty done, on chain, and on time", async () => {
    // Half a slot before its epoch, so none of that epoch's duties are node 4's.
    await untilMs(NODE_4_DIES * SLOT_MS - SLOT_MS / 2);
    await node(4).kill("SIGKILL");
    // Two slots past epoch 3: its last attestations and aggregates are included by then.
    await untilSlot(NODE_4_RETURNS + 2);
    await assertOnChain(1, 4, 0.99, LATE_EPOCH_BLOCK);

    const results = await resultsOf(node(1), 1, 4);
    // From epoch 2: epoch 1 is the start-up's (in one quiet run here its sync participation was 75%).
    for (const e of await effectiveness(2, 4)) {
      assert.ok(
        e.sync_committee.blocks >= 7 && (e.sync_committee.participation ?? 0) >= 0.95,
        `epoch ${e.epoch}: sync ${JSON.stringify(e.sync_committee)}; node 1: ${summary(results)}`,
      );
      assert.ok(
        e.aggregates.accepted > 0 && e.aggregates.included === e.aggregates.accepted,
        `epoch ${e.epoch}: aggregates ${JSON.stringify(e.aggregates)}`,
      );
      assert.ok(
        e.subscriptions.beacon_committee === VALIDATORS && e.subscriptions.aggregators > 0,
        `epoch ${e.epoch}: subscriptions ${JSON.stringify(e.subscriptions)}`,
      );
    }
    // A late sync message misses the contributions built at 2/3 of the slot, so only `submitted` is on time.
    // With node 4 dead, a dead leader costs a consensus round, so a duty may be late, but none may fail.
    const count = (epochs: number[], duty: string) => {
      const mine = results.filter(
        (r) => epochs.includes(Math.floor(r.slot / SLOTS_PER_EPOCH)) && r.duty === duty && r.status !== "not_selected",
      );
      return {
        all: mine.length,
        onTime: mine.filter((r) => r.status === "submitted").length,
        failed: mine.filter((r) => r.status === "failed").length,
      };
    };
    for (const duty of ["attester", "sync_message", "sync_contribution", "aggregator"]) {
      // An attestation a little late is still included (the chain check above); a sync message is not.
      const healthy = count([2], duty);
      assert.ok(
        healthy.all > 0 && (duty === "attester" || healthy.onTime >= healthy.all * 0.99),
        `${duty} in epoch 2: ${JSON.stringify(healthy)}; ${summary(results)}`,
      );
      const oneDown = count([3, 4], duty);
      assert.ok(
        oneDown.all > 0 && oneDown.failed === 0,
        `${duty} in epochs 3-4, node 4 dead: ${JSON.stringify(oneDown)}; ${summary(results)}`,
      );
    }
    const metrics = await fetch(`${node(1).http}/metrics`).then((r) => r.text());
    assert.match(metrics, /r3dv_duty_results_total\{duty="attester",status="submitted",reason=""\} [1-9]/);
    assert.match(metrics, /r3dv_duty_results_total\{duty="sync_message",status="submitted",reason=""\} [1-9]/);
  });

  it("node 4 restarted at epoch 5 takes part again: its own series holds its duties done and included", async () => {
    const from = await stat(node(4).log).then(
      (s) => s.size,
      () => 0,
    );
    await untilSlot(NODE_4_RETURNS);
    const again = await spawnNode(cluster, 4, beacons(4), ["--log-level", "info"]);
    nodes.set(4, again);
    // As `r3dv devnet` does: on separate machines a restarting node's key derivation cannot starve the others'
    // epoch-boundary duties, on two shared cores it can (info level: the log says when its duties started).
    const alive = () => again.proc.exitCode === null && again.proc.signalCode === null;
    void deprioritizeWhileStarting(
      {pid: again.proc.pid as number, alive},
      again.log,
      from,
      restarts.signal,
      90_000,
    ).then((note) => console.error(`node 4 restarted: ${note}`));
    // Epochs 1..6 complete, and the inclusion window of epoch 6's last duties closed (INCLUSION_WINDOW_SLOTS).
    await untilSlot(7 * SLOTS_PER_EPOCH + 4);
    const finality = await getJson<{data: {finalized: {epoch: string}}}>(
      `${devnet.url}/eth/v1/beacon/states/head/finality_checkpoints`,
    );
    assert.ok(Number(finality.body.data.finalized.epoch) >= 3, `finalized ${JSON.stringify(finality.body.data)}`);
    await assertOnChain(5, 6, 0.99, LATE_EPOCH_BLOCK);

    // The last slot of epoch 6: the restarted node has been dialing back and catching up (in 2 of 4 runs it still
    // missed the others' partial signatures 9 or 11 slots after its restart).
    const trail = await ipc<DutyTrail>(again, "duty", {slot: 7 * SLOTS_PER_EPOCH - 2});
    // Every duty submitted, except those whose selection proof did not make the validator an aggregator.
    assert.ok(
      trail.results.length > 0 && trail.results.every((r) => r.status === "submitted" || r.status === "not_selected"),
      trail.headline,
    );
    // And checked them on chain once their inclusion window closed: every one included with the right target.
    assert.equal(
      trail.inclusions.length,
      trail.results.filter((r) => r.duty === "attester").length,
      JSON.stringify(trail.inclusions),
    );
    assert.ok(
      trail.inclusions.every((r) => r.included && r.correctTarget && (r.delay ?? 99) <= 2),
      JSON.stringify(trail.inclusions),
    );
    // Doppelganger protection is on: the restarted node found the cluster's own signatures in its series (its
    // peers', pushed or caught up) and signs for every validator, without an epoch's wait or a false alarm.
    const st = await ipc<NodeStatus>(again, "status");
    assert.deepEqual(st.doppelganger.counts, {checking: 0, safe: VALIDATORS, live_elsewhere: 0, off: 0});
    const recorded = await ipc<{entries: {body?: {state: string; detail: string}}[]}>(again, "series", {
      tail: 1000,
      kind: "doppelganger",
    });
    assert.ok(
      recorded.entries.some((e) => e.body?.state === "safe" && /the cluster's own signatures/.test(e.body.detail)),
      JSON.stringify(recorded.entries.slice(0, 3)),
    );
  });

  it("every node's first beacon node dies: every proposal made and every attestation on target but a late epoch block's slot, no duty failed for a beacon reason, the dead node benched", async () => {
    await untilMs(FAILOVER_AT_MS);
    const passedBeforeKill = proxies.map((p) => p.passed);
    await Promise.all(proxies.map((p) => p.stop()));
    // Every node read its first beacon node while it lived (duties, attestation data, blocks): it was really used.
    assert.ok(
      passedBeforeKill.every((n) => n > 50),
      `requests through each first beacon node: ${passedBeforeKill.join(", ")}`,
    );
    // The epochs before, of and after the kill, and one more slot for the last of their attestations.
    await untilSlot((FAILOVER_EPOCH + 2) * SLOTS_PER_EPOCH + 1);
    await assertOnChain(FAILOVER_EPOCH - 1, FAILOVER_EPOCH + 1, 1, LATE_EPOCH_BLOCK);

    for (const n of nodes.values()) {
      // No attestation or proposal failed at all, and no duty of any kind for a beacon node's reason. An
      // aggregation whose partial signatures missed their 2/3-slot deadline on this loaded two-core machine
      // (no_quorum or recover_timeout) is the exchange's timing, not the beacon nodes': it is printed, not failed on.
      const failed = (await resultsOf(n, FAILOVER_EPOCH - 1, FAILOVER_EPOCH + 1)).filter((r) => r.status === "failed");
      const beaconCaused = failed.filter(
        (r) =>
          r.duty === "attester" ||
          r.duty === "proposer" ||
          r.reason === "beacon_unavailable" ||
          r.reason === "submit_failed",
      );
      assert.deepEqual(
        beaconCaused.map((r) => `slot ${r.slot} ${r.duty} ${r.reason}: ${r.detail ?? ""}`),
        [],
        `node ${n.index} failed duties around the beacon node's death`,
      );
      if (failed.length > 0) console.warn(`node ${n.index} failed duties for other reasons: ${summary(failed)}`);

      const metrics = await fetch(`${n.http}/metrics`).then((r) => r.text());
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
    const text = await runCli(["status", "--ipc", node(1).ipc]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`beacon 1 ${proxies[0]?.url} benched \\(unreachable`));
    assert.match(text.stdout, new RegExp(`beacon 2 ${devnet.url} healthy, latency [0-9.]+ ms, head \\d+`));
    const health = await ipc<{entries: {body?: {url: string; health: string}}[]}>(node(1), "series", {
      tail: 20,
      kind: "beacon_health",
    });
    assert.ok(
      health.entries.some((e) => e.body?.url === proxies[0]?.url && e.body?.health === "benched"),
      JSON.stringify(health).slice(0, 400),
    );
  });

  it("nodes 2 and 3 frozen across a slot's duties: `r3dv duty SLOT` says no quorum and names them, then all is on time again", async () => {
    // The slot FROZEN_SLOT names, or the same slot of a later epoch if the checks before ran past its start.
    const now = Math.floor((Date.now() - devnet.genesisTime * 1000) / SLOT_MS);
    let slot = FROZEN_SLOT;
    while (slot <= now) slot += SLOTS_PER_EPOCH;
    await untilSlot(slot);
    node(2).proc.kill("SIGSTOP");
    node(3).proc.kill("SIGSTOP");
    // The attestation's consensus runs until two slots after its own.
    await untilMs((slot + 2) * SLOT_MS + 300);
    node(2).proc.kill("SIGCONT");
    node(3).proc.kill("SIGCONT");
    await untilSlot(slot + 3);

    const text = await runCli(["duty", String(slot), "--ipc", node(1).ipc]);
    assert.equal(text.code, 0, text.stderr);
    const headline = text.stdout.split("\n")[0] ?? "";
    assert.match(
      headline,
      new RegExp(`^slot ${slot}: \\d+ attester FAILED no_quorum missing node\\(s\\) 2, 3`),
      text.stdout,
    );
    assert.match(text.stdout, new RegExp(`attester/${slot}: nodes 1, 4;`), "the consensus section shows who took part");

    const json = await runCli(["duty", String(slot), "--ipc", node(1).ipc, "--json"]);
    const trail = JSON.parse(json.stdout) as DutyTrail;
    const validator = trail.results.find((r) => r.duty === "attester")?.validatorIndex as number;
    const one = await runCli(["duty", String(slot), "--validator", String(validator), "--ipc", node(1).ipc]);
    assert.match(
      one.stdout.split("\n")[0] ?? "",
      new RegExp(`^slot ${slot}, validator ${validator}: 1 attester FAILED no_quorum missing node\\(s\\) 2, 3`),
      one.stdout,
    );

    // Once they are back (after SIGCONT each catches up with a backlog of timers and reconnections, which can
    // make the next slot or two late on two shared cores), the cluster attests on time again.
    await untilSlot(slot + 13);
    const after: string[] = [];
    for (let s = slot + 3; s <= slot + 12; s++) after.push((await ipc<DutyTrail>(node(1), "duty", {slot: s})).headline);
    assert.ok(
      after.some((h) => /: all submitted \(.*\d+ attester/.test(h)),
      after.join("\n"),
    );
  });

  it("an operator's exit: two operators' shares wait, named in `r3dv exit status`; the third's puts it on chain", async () => {
    const validator = 5;
    const sign = (i: number) => runCli(["exit", "sign", "--validator", String(validator), "--ipc", node(i).ipc]);
    const status = (i: number) => runCli(["exit", "status", "--validator", String(validator), "--ipc", node(i).ipc]);
    const first = await sign(1);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /signed by 1 of 3 needed \(operators 1\), missing 2, 3, 4; needs 2 more/);
    assert.equal((await sign(2)).code, 0);
    // Node 4 signed nothing and hears both; with two of three no node can make the exit.
    // Each status is a CLI process (a second or more on a busy machine); the partials arrive within a slot.
    await waitFor(
      "node 4 holds two partials",
      async () =>
        /signed by 2 of 3 needed \(operators 1, 2\), missing 3, 4; needs 1 more/.test((await status(4)).stdout),
      2 * SLOTS_PER_EPOCH * SLOT_MS,
      500,
    );
    const pool = await getJson<{data: unknown[]}>(`${devnet.url}/eth/v1/beacon/pool/voluntary_exits`);
    assert.deepEqual(pool.body.data, [], "no exit reached the beacon node");

    assert.equal((await sign(3)).code, 0);
    // Every node recovers and submits it; the next block includes it.
    const exitEpoch = await waitFor(
      "validator 5's exit on chain",
      async () => {
        const v = await getJson<{data: {validator: {exit_epoch: string}}}>(
          `${devnet.url}/eth/v1/beacon/states/head/validators/${validator}`,
        );
        const e = v.body.data.validator.exit_epoch;
        return e !== "18446744073709551615" && Number(e);
      },
      // Submitted once the third partial arrives; if that submission is lost, every node resubmits at the next
      // epoch's start, so an epoch and two slots bound it.
      (SLOTS_PER_EPOCH + 2) * SLOT_MS,
      200,
    );
    const text = await waitFor(
      "node 4 sees it on chain",
      async () => {
        const r = await status(4);
        return r.stdout.includes(`on chain: exits at epoch ${exitEpoch}`) && r.stdout;
      },
      SLOTS_PER_EPOCH * SLOT_MS + 10_000,
      1000,
    );
    assert.match(text, /signed by [34] of 3 needed/);
    const metrics = await fetch(`${node(4).http}/metrics`).then((r) => r.text());
    // One exit, one result, however often it was sent again while no block held it.
    const exitLines = metrics
      .split("\n")
      .filter((l) => /^r3dv_(duty_results_total\{duty="voluntary_exit"|exit_)/.test(l))
      .join("\n");
    assert.match(
      exitLines,
      /r3dv_duty_results_total\{duty="voluntary_exit",status="submitted",reason=""\} 1$/m,
      exitLines,
    );
    assert.match(exitLines, /r3dv_exit_partials_total\{result="accepted"\} [3-9]/, exitLines);
  });
});
