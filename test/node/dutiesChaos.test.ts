import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import type {DutyTrail} from "../../src/node/dutyTrail.js";
import {
  MULTIPROCESS_LOCK,
  type NodeProc,
  type TestCluster,
  makeCluster,
  ipc,
  runCli,
  spawnNode,
} from "../helpers/cluster.js";
import {acquireExclusive} from "../helpers/exclusive.js";
import {type Effectiveness, type RunningDevnet, getJson, sleep, spawnDevnet} from "../devnet/helpers.js";
import {stat} from "node:fs/promises";
import {deprioritizeWhileStarting} from "../../src/devnetCluster/priority.js";

const SLOT_MS = 2000;
const EPOCH_MS = 8 * SLOT_MS;

/**
 * Faults an operator meets, on four real `r3dv run` processes running all 64 validators of the devnet:
 * one node SIGKILLed in epoch 2 and restarted in epoch 4 (the cluster must not notice on chain, and the
 * restarted node must take part again), then two nodes frozen across one slot's duties (a miss the cluster
 * cannot avoid, which `r3dv duty` must explain: no quorum, and which nodes were missing).
 */
// R3DV_TEST_KEEP=1 keeps the cluster dir (node logs at info level) for a post-mortem.
describe("a 3-of-4 cluster of r3dv run processes under faults", {timeout: 900_000}, () => {
  let release: () => Promise<void>;
  let devnet: RunningDevnet;
  let cluster: TestCluster;
  const nodes = new Map<number, NodeProc>();
  const at = (ms: number) => sleep(Math.max(0, devnet.genesisTime * 1000 + ms - Date.now()));
  const node = (i: number) => nodes.get(i) as NodeProc;
  const restarts = new AbortController();

  before(async () => {
    release = await acquireExclusive(MULTIPROCESS_LOCK);
    cluster = await makeCluster(4, 64);
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
    for (let i = 1; i <= 4; i++)
      nodes.set(
        i,
        await spawnNode(cluster, i, devnet.url, ["--log-level", process.env.R3DV_TEST_KEEP ? "info" : "warn"]),
      );
  });

  after(async () => {
    restarts.abort();
    for (const n of nodes.values()) n.proc.kill("SIGCONT");
    await Promise.all([...nodes.values()].map((n) => n.kill()));
    await devnet?.stop();
    if (!process.env.R3DV_TEST_KEEP) await cluster?.cleanup();
    await release?.();
  });

  it("node 2 SIGKILLed from epoch 2 to epoch 4: finality, at least 99% of attestations on target, every proposal, and node 2 attests again", async () => {
    await at(2 * EPOCH_MS);
    await node(2).kill("SIGKILL");
    await at(4 * EPOCH_MS);
    const from = await stat(node(2).log).then(
      (s) => s.size,
      () => 0,
    );
    const again = await spawnNode(cluster, 2, devnet.url, ["--log-level", "info"]);
    nodes.set(2, again);
    // As `r3dv devnet` does: on separate machines a restarting node's key derivation cannot starve the others'
    // epoch-boundary duties, on two shared cores it can (info level: the log says when its duties started).
    const alive = () => again.proc.exitCode === null && again.proc.signalCode === null;
    void deprioritizeWhileStarting(
      {pid: again.proc.pid as number, alive},
      again.log,
      from,
      restarts.signal,
      90_000,
    ).then((note) => console.error(`node 2 restarted: ${note}`));
    // Epochs 1..5 complete, and one more slot for the last attestations to be included.
    await at(6 * EPOCH_MS + SLOT_MS);
    const finality = await getJson<{data: {finalized: {epoch: string}}}>(
      `${devnet.url}/eth/v1/beacon/states/head/finality_checkpoints`,
    );
    assert.ok(Number(finality.body.data.finalized.epoch) >= 3, `finalized ${JSON.stringify(finality.body.data)}`);
    const {body} = await getJson<Effectiveness>(`${devnet.url}/r3dv/v1/effectiveness?from_epoch=1&to_epoch=5`);
    const all = body.data.epochs.flatMap((e) => e.validators);
    const good = all.filter((v) => v.included && v.correct_target).length;
    assert.equal(all.length, 5 * 64);
    if (good < all.length * 0.99) {
      // Say which slots, and how node 1's duties and every node's proposal went there.
      const bad = body.data.epochs.flatMap((e) =>
        e.validators
          .filter((v) => !(v.included && v.correct_target))
          .map((v) => (v as unknown as {duty: {slot: number}}).duty.slot),
      );
      const slots = [...new Set(bad)];
      const trails = await Promise.all(
        [...nodes.values()].map((n) =>
          ipc<{entries: {body?: {duty: string; slot: number}}[]}>(n, "series", {tail: 5000, kind: "duty_result"}).catch(
            () => ({entries: []}),
          ),
        ),
      );
      const seen = trails.flatMap((t, k) =>
        t.entries
          .filter(
            (e) =>
              e.body &&
              (slots.includes(e.body.slot) || slots.includes(e.body.slot + 1)) &&
              (k === 0 || e.body.duty === "proposer"),
          )
          .map((e) => JSON.stringify(e.body)),
      );
      assert.fail(
        `${good} of ${all.length} attestations included on target; missed or off target in slots ${slots.join(", ")}:\n${[...new Set(seen)].join("\n")}`,
      );
    }
    assert.deepEqual(
      body.data.epochs.flatMap((e) => e.missed_proposals),
      [],
    );

    // The restarted node took part in epoch 5: its own series holds its submitted attestations.
    const trail = await ipc<DutyTrail>(node(2), "duty", {slot: 5 * 8 + 3});
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
  });

  it("nodes 3 and 4 frozen across a slot's duties: `r3dv duty SLOT` says no quorum and names them", async () => {
    const slot = 6 * 8 + 4;
    await at(slot * SLOT_MS);
    node(3).proc.kill("SIGSTOP");
    node(4).proc.kill("SIGSTOP");
    // The attestation's consensus runs until two slots after its own.
    await at((slot + 2) * SLOT_MS + 300);
    node(3).proc.kill("SIGCONT");
    node(4).proc.kill("SIGCONT");
    await at((slot + 3) * SLOT_MS);

    const text = await runCli(["duty", String(slot), "--ipc", node(1).ipc]);
    assert.equal(text.code, 0, text.stderr);
    const headline = text.stdout.split("\n")[0] ?? "";
    assert.match(
      headline,
      new RegExp(`^slot ${slot}: \\d+ attester FAILED no_quorum missing node\\(s\\) 3, 4`),
      text.stdout,
    );
    assert.match(text.stdout, new RegExp(`attester/${slot}: nodes 1, 2;`), "the consensus section shows who took part");

    const json = await runCli(["duty", String(slot), "--ipc", node(1).ipc, "--json"]);
    const trail = JSON.parse(json.stdout) as DutyTrail;
    const validator = trail.results.find((r) => r.duty === "attester")?.validatorIndex as number;
    const one = await runCli(["duty", String(slot), "--validator", String(validator), "--ipc", node(1).ipc]);
    assert.match(
      one.stdout.split("\n")[0] ?? "",
      new RegExp(`^slot ${slot}, validator ${validator}: 1 attester FAILED no_quorum missing node\\(s\\) 3, 4`),
      one.stdout,
    );

    // Once they are back (after SIGCONT each catches up with a backlog of timers and reconnections, which can
    // make the next slot or two late on two shared cores), the cluster attests on time again.
    await at((slot + 9) * SLOT_MS);
    const after: string[] = [];
    for (let s = slot + 3; s <= slot + 8; s++) after.push((await ipc<DutyTrail>(node(1), "duty", {slot: s})).headline);
    assert.ok(
      after.some((h) => /: all submitted \(.*\d+ attester/.test(h)),
      after.join("\n"),
    );
  });
});
