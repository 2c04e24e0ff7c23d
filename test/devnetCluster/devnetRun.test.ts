import assert from "node:assert/strict";
import {spawn} from "node:child_process";
import {readFile, rm} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {MAIN, runR3dv, tempDir} from "../helpers/cli.js";
import {MULTIPROCESS_LOCK} from "../helpers/cluster.js";
import {acquireExclusive, alive} from "../helpers/exclusive.js";
import {startCpuHog} from "../helpers/cpuHog.js";

interface ReportJson {
  passed: boolean;
  targets: {name: string; met: boolean; detail: string}[];
  /** `missed`: the slots of the epoch whose proposal did not make it on chain; `quorum`: whether the run judged them. */
  epochs: {epoch: number; duties: number; good: number; missed: number[]; quorum: boolean}[];
  failures: {duty: string; reason: string; count: number; slots: [number, number]; missing: number[]}[];
  faults: {event: {action: string; node: number; epoch: number}; slot: number; pid?: number; recoveredSlot?: number}[];
  invalidHeads: {
    slot: number;
    judgedInvalidBy: number[];
    reasons: string[];
    notJudgedBy: number[];
    attesters: number;
    syncMembers: number;
    childBlocks: number;
    votedInstead: {root: string; results: number}[];
  }[];
  peerRtt: {p50: number; p99: number; count: number} | null;
  latency: {p50: number; p99: number; deadlineMs: number; overDeadline: number};
}

/**
 * The runs use 4 s slots, as a user on a busy machine would: at 2 s a node has 667 ms to its attestation's due
 * time, and a core kept busy by another process is enough to miss it.
 */
const SLOT_SECONDS = "4";
/** A devnet run's whole budget: cluster creation, genesis delay, up to 7 epochs of 32 s, the report. */
const RUN_TIMEOUT_MS = 540_000;

async function startedPids(out: string): Promise<number[]> {
  const list = JSON.parse(await readFile(join(out, "processes.json"), "utf8")) as {name: string; pid: number}[];
  return list.map((p) => p.pid);
}

/**
 * A run of a bigger cluster with some operators' machines off from genesis (`kill:N@0` for each of `down`): it
 * must exit 0 with every target met, name exactly those faults, find nothing slashable, and leave no process.
 * `missedProposalsTolerated` lets the run miss that many proposals and nothing else: it must then exit 1 (the run
 * says it missed a target) with "no missed proposal" the only target unmet, and the nodes must have recorded a
 * proposer failure whose slot range (the report groups failures by duty and reason, first to last slot) holds it.
 */
async function runWithNodesDown(
  out: string,
  args: string[],
  down: number[],
  missedProposalsTolerated = 0,
): Promise<ReportJson> {
  const chaos = down.map((n) => `kill:${n}@0`);
  const res = await runR3dv(["devnet", ...args, "--chaos", chaos.join(","), "--out", out], {timeoutMs: RUN_TIMEOUT_MS});
  const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as ReportJson;
  const why = `exit ${res.code}\n${res.stdout.slice(-4000)}\n${res.stderr.slice(-2000)}`;
  // Only epochs with a quorum up are judged: a proposal missed without one fails no target.
  const missed = report.epochs.filter((e) => e.quorum).flatMap((e) => e.missed);
  if (missed.length > 0 && missed.length <= missedProposalsTolerated) {
    assert.equal(res.code, 1, why);
    assert.deepEqual(
      report.targets.filter((t) => !t.met).map((t) => t.name),
      ["no missed proposal"],
      why,
    );
    assert.ok(
      missed.every((slot) =>
        report.failures.some((f) => f.duty === "proposer" && f.slots[0] <= slot && slot <= f.slots[1]),
      ),
      `the nodes recorded why slot(s) ${missed.join(", ")} missed their proposal\n${why}`,
    );
  } else {
    assert.equal(res.code, 0, why);
    assert.equal(report.passed, true);
  }
  assert.deepEqual(
    report.faults.map((f) => `${f.event.action}:${f.event.node}@${f.event.epoch}`),
    chaos,
  );
  assert.equal(
    report.targets.find((t) => t.name === "no slashable signature")?.met,
    true,
    JSON.stringify(report.targets),
  );
  for (const pid of await startedPids(out)) assert.equal(alive(pid), false, `pid ${pid} still alive after the run`);
  return report;
}

/**
 * The main job as a newcomer runs it: `r3dv devnet` as a real process, which runs the devnet beacon node and
 * one `r3dv run` per node, kills and restarts nodes, and judges the run by the chain.
 */
describe("r3dv devnet", {timeout: 3 * RUN_TIMEOUT_MS}, () => {
  let release: () => Promise<void>;
  let dir: string;

  before(async () => {
    release = await acquireExclusive(MULTIPROCESS_LOCK);
    dir = await tempDir("r3dv-devnet-run-");
  });
  after(async () => {
    await rm(dir, {recursive: true, force: true});
    await release?.();
  });

  it("keeps validating through a rolling restart of all four, each node waiting for the one before to submit again, then a head with an invalid payload voted around: exit 0, every fault in the report, at least 99% effectiveness", async () => {
    const out = join(dir, "rolling");
    const res = await runR3dv(
      [
        ...["devnet", "--epochs", "7", "--slot-seconds", SLOT_SECONDS],
        ...["--chaos", "restart-all@1,invalid-payload@5", "--out", out],
      ],
      {timeoutMs: RUN_TIMEOUT_MS},
    );
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as ReportJson;
    assert.equal(res.code, 0, `exit ${res.code}\n${res.stdout.slice(-4000)}\n${res.stderr.slice(-2000)}`);
    assert.equal(report.passed, true);
    assert.match(res.stdout, /\| kill:1@1 \| 8 \| SIGKILL node 1 \(pid \d+\)/);
    // The rolling restart (an upgrade, one node at a time): each node killed and started again in one slot, no
    // earlier than its epoch, and only once the node restarted before it submitted a duty again.
    let before: {slot: number; recoveredSlot?: number} | undefined;
    for (const node of [1, 2, 3, 4]) {
      const stop = report.faults.find((f) => f.event.action === "kill" && f.event.node === node);
      const back = report.faults.find((f) => f.event.action === "start" && f.event.node === node);
      assert.ok(
        stop?.pid && back?.pid && stop.pid !== back.pid && stop.slot === back.slot,
        `node ${node}: ${JSON.stringify([stop, back])}`,
      );
      assert.ok(stop.event.epoch >= node, `node ${node} restarted at epoch ${stop.event.epoch}`);
      if (before) {
        assert.ok(before.recoveredSlot !== undefined, `the node before ${node} submitted again`);
        assert.ok(
          stop.slot > before.recoveredSlot,
          `node ${node} went at slot ${stop.slot}, after ${before.recoveredSlot}`,
        );
      }
      before = back;
    }
    // The head with an invalid payload (slot 42), consensus-valid: judged invalid (bad_payload, by re-executing it)
    // by the nodes running duties then, nothing signed over it, and the slot's votes went to the valid block (every
    // duty of the run is on target, below).
    const invalid = report.invalidHeads[0];
    assert.equal(invalid?.slot, 42);
    assert.ok((invalid?.judgedInvalidBy.length ?? 0) >= 3, JSON.stringify(invalid));
    assert.deepEqual(invalid?.reasons, ["bad_payload"]);
    assert.deepEqual(invalid?.notJudgedBy, []);
    assert.equal((invalid?.attesters ?? 1) + (invalid?.syncMembers ?? 1) + (invalid?.childBlocks ?? 1), 0);
    assert.ok((invalid?.votedInstead.length ?? 0) >= 1, "the nodes say which verified block they voted for");
    const duties = report.epochs.reduce((a, e) => a + e.duties, 0);
    const good = report.epochs.reduce((a, e) => a + e.good, 0);
    assert.equal(duties, 7 * 64);
    assert.ok(good >= 0.99 * duties, `${good} of ${duties}`);
    assert.match(await readFile(join(out, "report.html"), "utf8"), /Effectiveness per epoch[\s\S]*<svg/);
    for (const pid of await startedPids(out)) assert.equal(alive(pid), false, `pid ${pid} still alive after the run`);
  });

  it("reports the duties missed without a quorum, recovers when the nodes return, and exits non-zero", async () => {
    const out = join(dir, "two-down");
    const res = await runR3dv(
      [
        "devnet",
        "--epochs",
        "3",
        "--slot-seconds",
        SLOT_SECONDS,
        "--chaos",
        "kill:1@1,kill:2@1,start:1@2,start:2@2",
        "--out",
        out,
      ],
      {timeoutMs: RUN_TIMEOUT_MS},
    );
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as ReportJson;
    assert.equal(res.code, 1, `exit ${res.code}\n${res.stdout.slice(-4000)}`);
    assert.equal(report.targets.find((t) => t.name === "effectiveness")?.met, false);
    const noQuorum = report.failures.find((f) => f.duty === "attester" && f.reason === "no_quorum");
    assert.ok(noQuorum, `no attester no_quorum failure in ${JSON.stringify(report.failures)}`);
    assert.ok(noQuorum.slots[0] >= 8 && noQuorum.count > 0, JSON.stringify(noQuorum));
    assert.ok(
      noQuorum.missing.includes(1) && noQuorum.missing.includes(2),
      `the killed nodes named as missing: ${noQuorum.missing}`,
    );
    assert.match(res.stdout, /\| attester \| no quorum \| \d+ \|/);
    // While both were down (epoch 1) the chain has none of the cluster's attestations; after, it has them again.
    assert.equal(report.epochs[1]?.good, 0);
    const starts = report.faults.filter((f) => f.event.action === "start");
    assert.equal(starts.length, 2);
    for (const s of starts)
      assert.ok(
        s.recoveredSlot !== undefined && s.recoveredSlot >= 16,
        `node ${s.event.node} never submitted after its restart: ${JSON.stringify(s)}`,
      );
    assert.ok(
      (report.epochs[2]?.good ?? 0) > 0,
      `no attestation of epoch 2 included: ${JSON.stringify(report.epochs)}`,
    );
    for (const pid of await startedPids(out)) assert.equal(alive(pid), false, `pid ${pid} still alive after the run`);
  });

  it("a 7-node cluster (threshold 5) with 2 nodes down from genesis and 3 designated recoverers per attestation keeps every duty: exit 0, every attestation on target, nothing slashable", async () => {
    const out = join(dir, "seven");
    const report = await runWithNodesDown(
      out,
      [
        // Two epochs, the shortest run the report judges every duty of (a third only adds justification).
        ...["--nodes", "7", "--threshold", "5", "--epochs", "2", "--slot-seconds", SLOT_SECONDS],
        // Five nodes verifying every block are five state transitions per block beside the devnet and the
        // duties, more than two cores keep on time at each epoch's start. Verification is per node and is
        // tested on the 4-node runs; this run is about a threshold with no node to spare.
        ...["--verify", "off"],
        // 3 of 7 designated per attestation: with 2 down, every attestation still needs one of its 3 to be up.
        ...["--recoverers", "designated"],
      ],
      // Two operators' machines are off from genesis: seven node processes on this machine's two cores,
      // each talking to six peers, are more than it has (one node per machine is what a cluster runs on).
      [6, 7],
    );
    assert.match(
      await readFile(join(out, "report.md"), "utf8"),
      /\| attester \| delegated \| - \| [1-9]/,
      "the nodes left attestations to their designated recoverers",
    );
    // Every epoch ran on exactly the threshold: five of seven, every one of them needed for each signature.
    assert.equal(report.epochs.length, 2);
    for (const e of report.epochs)
      assert.equal(e.good, e.duties, `epoch ${e.epoch}: ${e.good} of ${e.duties} on target`);
  });

  it("a 10-node cluster (threshold 7) with 3 nodes down from genesis keeps its duties: at least 99% effectiveness, nothing slashable, every target met but at most one proposal", async () => {
    const report = await runWithNodesDown(
      join(dir, "ten"),
      [
        // Two epochs, the shortest run the report judges (every duty, effectiveness, slashing; no finality), of 6 s
        // slots: seven live node processes on this machine's two cores made sync committee messages and proposals
        // late at 4 s (76% participation and 2 proposals missed in a 3-epoch run here; attestations stayed at
        // 100%), and every target passed at 6 s (mainnet's slots are 12 s).
        ...["--nodes", "10", "--threshold", "7", "--epochs", "2", "--slot-seconds", "6"],
        // As in the 7-node run: seven node processes verifying every block are more than two cores hold on time.
        ...["--verify", "off"],
        // 4 of 10 designated per attestation: with 3 down, every attestation still has one of its 4 up.
        ...["--recoverers", "designated"],
      ],
      // Three operators' machines are off from genesis: seven live nodes, the threshold.
      [8, 9, 10],
      // A tolerance of this test, not of the run (which exits 1 on any missed proposal): at the threshold every
      // live node must take part in every duty, so a node that stalls for a second loses that slot's duties for
      // all. With seven node processes and the devnet on two cores that happened once in CI (slots 9-10: nodes 4
      // and 5 missed the proposer's exchange, aggregations timed out, every attestation was included). One of the
      // run's 15 proposals (slot 0 has none) may miss; the bar for this run, 99% of attestations and
      // nothing slashable, still holds.
      1,
    );
    const duties = report.epochs.reduce((a, e) => a + e.duties, 0);
    const good = report.epochs.reduce((a, e) => a + e.good, 0);
    assert.equal(duties, 2 * 64);
    assert.ok(good >= 0.99 * duties, `${good} of ${duties} attestations on target`);
  });

  it("far-apart operators (100 ms round trips, 20 ms jitter between every pair of nodes) keep every duty: exit 0, at least 99% effectiveness, every attestation before its deadline", async () => {
    const out = join(dir, "far");
    const res = await runR3dv(
      [
        // Two epochs: every duty type runs and is judged; the delay's effect is per slot, not per epoch.
        ...["devnet", "--epochs", "2", "--slot-seconds", SLOT_SECONDS, "--latency", "100/20", "--no-chaos"],
        // The delay is what is tested, on the links: without verification each node's CPU is the duties'.
        ...["--verify", "off", "--out", out],
      ],
      {timeoutMs: RUN_TIMEOUT_MS},
    );
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as ReportJson;
    assert.equal(res.code, 0, `exit ${res.code}\n${res.stdout.slice(-4000)}\n${res.stderr.slice(-2000)}`);
    assert.equal(report.passed, true);
    // The proxies were in the path: on loopback alone the nodes measure well under a millisecond.
    assert.ok(report.peerRtt && report.peerRtt.p50 >= 90, `peer round trips ${JSON.stringify(report.peerRtt)}`);
    const duties = report.epochs.reduce((a, e) => a + e.duties, 0);
    const good = report.epochs.reduce((a, e) => a + e.good, 0);
    assert.ok(good >= 0.99 * duties, `${good} of ${duties} attestations on target`);
    // 4 s slots, three times less time than mainnet's 12 s for the same round trips: every attestation's
    // consensus, exchange and submission fit in the 1,333 ms before its deadline.
    assert.equal(report.latency.overDeadline, 0, JSON.stringify(report.latency));
    for (const pid of await startedPids(out)) assert.equal(alive(pid), false, `pid ${pid} still alive after the run`);
  });

  it("`npm start`'s run keeps every target while another process keeps one of the two cores busy", async () => {
    const out = join(dir, "busy");
    const hog = startCpuHog();
    try {
      // Exactly what `npm start` runs, its default chaos and verification included.
      const res = await runR3dv(["devnet", "--out", out], {timeoutMs: RUN_TIMEOUT_MS});
      const took = await hog.stop();
      assert.equal(res.code, 0, `exit ${res.code}\n${res.stdout.slice(-4000)}\n${res.stderr.slice(-2000)}`);
      const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as ReportJson;
      assert.equal(report.passed, true);
      // The other program really competed, runnable the whole run: alone it takes a whole core; beside the five
      // processes of the run the scheduler's fair share gave it 77% of one in a clean-clone CI run here.
      assert.ok(took.cpuMs >= 0.6 * took.wallMs, `the hog took ${took.cpuMs} ms of CPU in ${took.wallMs} ms`);
    } finally {
      hog.kill();
    }
  });

  it("stops every process it started on SIGINT", async () => {
    const out = join(dir, "sigint");
    const child = spawn(
      process.execPath,
      [MAIN, "devnet", "--epochs", "4", "--out", out, "--chaos", "kill:3@1,start:3@2"],
      {stdio: ["ignore", "pipe", "pipe"]},
    );
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      // Interrupt mid-run: the beacon node and all four nodes are up and the chain has started.
      const end = Date.now() + RUN_TIMEOUT_MS;
      while (!/slot 2 epoch 0/.test(stdout)) {
        assert.ok(Date.now() < end && child.exitCode === null, `the run did not reach slot 2: ${stdout}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const pids = await startedPids(out);
      assert.equal(pids.length, 5, "devnet beacon node and four nodes");
      assert.ok(pids.every(alive));
      child.kill("SIGINT");
      const code = await exited;
      assert.notEqual(code, 0);
      for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still alive after SIGINT`);
      assert.match(stdout, /SIGINT: stopping the run and every process it started/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
