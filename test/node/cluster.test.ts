import assert from "node:assert/strict";
import {readFile, stat} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {generateKeyPair} from "@libp2p/crypto/keys";
import {loadLock} from "../../src/cluster/lock.js";
import type {ClusterLock} from "../../src/cluster/lockSchema.js";
import type {NodeStatus, PeerStatus} from "../../src/node/status.js";
import type {HealthReport} from "../../src/node/health.js";
import type {PublishResult} from "../../src/roles/store/storeRole.js";
import {OBJECTIVE_CURRENT_SLOTS, W_SLOT_ALLOWANCE} from "../../src/hotpath/limiters.js";
import type {DutyTrail} from "../../src/node/dutyTrail.js";
import {type NodeProc, type TestCluster, ipc, makeCluster, runCli, spawnNode, waitFor} from "../helpers/cluster.js";
import {MULTIPROCESS_LOCK} from "../helpers/cluster.js";
import {acquireExclusive} from "../helpers/exclusive.js";
import {FaultyProxy} from "../helpers/faultyProxy.js";
import {WitnessTamperProxy} from "../helpers/witnessTamperProxy.js";
import {Member} from "../helpers/member.js";
import {type RunningDevnet, devnetArgs, spawnDevnet} from "../devnet/helpers.js";

/** The repository's root, from dist/test/node/. */
const REPO = join(import.meta.dirname, "../../..");

/**
 * The devnet slot of the other cluster suites: a 1 s slot leaves four processes on two shared cores too little
 * time to agree and sign.
 */
const SLOT_MS = 2000;
/** The devnet's minimal preset (this file runs under Lodestar's default, mainnet). */
const DEVNET_SLOTS_PER_EPOCH = 8;
/** Waits that only measure the machine (four processes decrypting keys, dialing, a devnet starting on two shared cores). */
const MACHINE_MS = 90_000;

/** A duty result as a node's series holds it (the fields the tests read). */
type Result = {
  duty: string;
  slot: number;
  status: string;
  reason?: string;
  detail?: string;
  headReplaced?: {reason: string};
};

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

/**
 * Four `r3dv run` processes of a 3-of-4 cluster on the embedded devnet, which signs for every genesis validator
 * but the cluster's (validator 0): the nodes run that validator's duties for real while their network is tested.
 * Node 1 reaches the devnet through a fault injector, so a test can make its beacon node say it is syncing.
 * Nodes 2 and 3 verify every block with `--verify enforce`, re-executing payloads: node 2 on the devnet's execution
 * JSON-RPC, node 3 on a lying one (every proof tampered), so its own verification never succeeds.
 */
describe("a four-node cluster of real processes", {timeout: 420_000}, () => {
  let c: TestCluster;
  let devnet: RunningDevnet;
  let proxy: FaultyProxy;
  let lyingExecution: WitnessTamperProxy;
  let release: (() => Promise<void>) | undefined;
  let lock: ClusterLock;
  const nodes: NodeProc[] = [];
  const members: Member[] = [];

  before(async () => {
    release = await acquireExclusive(MULTIPROCESS_LOCK);
    c = await makeCluster(4);
    lock = await loadLock(c.lock);
    devnet = await spawnDevnet(devnetArgs({validators: 8, own: "1..7", slotMs: SLOT_MS, genesisDelaySec: 5}));
    proxy = new FaultyProxy(devnet.url);
    await proxy.start();
    const execution = `${devnet.url}/r3dv/v1/execution`;
    lyingExecution = new WitnessTamperProxy(execution);
    await lyingExecution.start();
    // Nodes 2 and 3 verify every block and sign only for heads they verified (the EVM role, enforced); node 3
    // reads its witnesses from a lying endpoint. Nodes 1 and 4 show what `--verify off` says.
    const verify: Record<number, string[]> = {
      2: ["--verify", "enforce", "--execution-rpc", execution],
      3: ["--verify", "enforce", "--execution-rpc", lyingExecution.url],
    };
    for (let i = 1; i <= 4; i++)
      nodes.push(
        await spawnNode(c, i, i === 1 ? proxy.url : devnet.url, [...["--builder", "on"], ...(verify[i] ?? [])]),
      );
  });

  after(async () => {
    for (const m of members) await m.stop().catch(() => undefined);
    for (const n of nodes) await n.kill("SIGKILL");
    await proxy?.stop();
    await lyingExecution?.stop();
    await devnet?.stop();
    await c?.cleanup();
    await release?.();
  });

  const node = (i: number): NodeProc =>
    nodes.find((n) => n.index === i && n.proc.exitCode === null && n.proc.signalCode === null) as NodeProc;

  it("all four become ready on /readyz, and each sees the other three", async () => {
    for (const n of nodes)
      await waitFor(`node ${n.index} ready`, async () => (await fetch(`${n.http}/readyz`)).status === 200, MACHINE_MS);
    for (const n of nodes) {
      const peers = await waitFor(`node ${n.index} RTT to every peer`, async () => {
        const ps = await ipc<PeerStatus[]>(n, "peers");
        return ps.every((p) => p.connected && p.rttMs !== undefined) && ps;
      });
      assert.deepEqual(
        peers.map((p) => p.operator).sort(),
        [1, 2, 3, 4].filter((i) => i !== n.index),
      );
    }
  });

  it("the cluster attests for its validator on the devnet, the series of every node that verified or trusts its head recording it", async () => {
    // Validator 0 attests once an epoch; a submitted attestation needs three of the four nodes to agree and sign.
    // Node 3 cannot verify any head (its witnesses are forged) and signs none: the other three carry the duty.
    for (const n of nodes.filter((x) => x.index !== 3)) {
      const r = await waitFor(
        `node ${n.index} submitted an attestation`,
        async () => {
          const {entries} = await ipc<{entries: {body?: {duty: string; status: string; slot: number}}[]}>(n, "series", {
            tail: 1000,
            kind: "duty_result",
          });
          return entries.find((e) => e.body?.duty === "attester" && e.body.status === "submitted")?.body;
        },
        MACHINE_MS,
      );
      const trail = await ipc<DutyTrail>(n, "duty", {slot: r.slot});
      assert.ok(
        trail.results.some((x) => x.duty === "attester" && x.status === "submitted"),
        trail.headline,
      );
    }
  });

  it("with --builder on, the validator's builder registration reaches the devnet: the cluster's signature, the lock's fee recipient, this epoch's start", async () => {
    const validator = lock.validators[0] as ClusterLock["validators"][number];
    const kept = await waitFor(
      "the devnet keeps a registration of the cluster's validator",
      async () => {
        const res = await fetch(`${devnet.url}/r3dv/v1/builder/registrations`);
        const {data} = (await res.json()) as {data: {pubkey: string; fee_recipient: string; timestamp: string}[]};
        return data.find((r) => r.pubkey === validator.pubkey.toLowerCase());
      },
      MACHINE_MS,
    );
    // The devnet kept it only if it verified under the builder domain with the validator's (never assembled) key.
    assert.equal(kept.fee_recipient, validator.fee_recipient.toLowerCase());
    const genesis = Number(
      ((await (await fetch(`${devnet.url}/eth/v1/beacon/genesis`)).json()) as {data: {genesis_time: string}}).data
        .genesis_time,
    );
    const epochSec = (SLOT_MS / 1000) * DEVNET_SLOTS_PER_EPOCH;
    assert.equal((Number(kept.timestamp) - genesis) % epochSec, 0, "an epoch's start");
    assert.ok(Date.now() / 1000 - Number(kept.timestamp) < 2 * epochSec, "this epoch's or the last");
    // The devnet keeps the first node's submission; node 2 records its own result once its submission returns,
    // which a busy machine can put after the devnet kept the first.
    await waitFor(
      "node 2 recorded a submitted registration",
      async () => {
        const {entries} = await ipc<{entries: {body?: {duty: string; status: string}}[]}>(node(2), "series", {
          tail: 2000,
          kind: "duty_result",
        });
        return entries.some((e) => e.body?.duty === "builder_registration" && e.body.status === "submitted");
      },
      MACHINE_MS,
    );
  });

  it("/readyz turns 503 while the beacon node is syncing, and back", async () => {
    proxy.mode = "syncing";
    const r = await waitFor("not ready", async () => {
      const res = await fetch(`${node(1).http}/readyz`);
      return res.status === 503 && ((await res.json()) as {beaconSynced: boolean});
    });
    assert.equal(r.beaconSynced, false);
    assert.equal((await fetch(`${node(1).http}/livez`)).status, 200);
    // The named health check says it, critical, with what to do: on HTTP (503), as a metric and in `r3dv health`.
    const health = await fetch(`${node(1).http}/r3dv/v1/health`);
    assert.equal(health.status, 503);
    const report = (await health.json()) as HealthReport;
    const synced = report.checks.find((c) => c.name === "beacon_synced");
    assert.deepEqual([report.status, synced?.ok, synced?.severity], ["critical", false, "critical"]);
    assert.match(synced?.action ?? "", /beacon node/);
    const cli = await runCli(["health", "--ipc", node(1).ipc]);
    assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /^health CRITICAL/);
    assert.match(cli.stdout, /FAIL critical beacon_synced: no beacon node is synced/);
    await waitFor("the health gauge", async () =>
      /r3dv_health_check_failing\{check="beacon_synced",severity="critical"\} 1/.test(
        await (await fetch(`${node(1).http}/metrics`)).text(),
      ),
    );
    proxy.mode = "pass";
    await waitFor("ready again", async () => (await fetch(`${node(1).http}/readyz`)).status === 200);
    const again = (await (await fetch(`${node(1).http}/r3dv/v1/health`)).json()) as HealthReport;
    assert.equal(again.checks.find((c) => c.name === "beacon_synced")?.ok, true);
  });

  it("with --verify enforce a node verifies and re-executes the devnet's blocks and signs for them: verdicts in its series, metrics and status", async () => {
    type Verdict = {status: string; slot?: number; root: string; executed?: boolean; timings?: {totalMs: number}};
    const verified = await waitFor(
      "node 2 verified three blocks",
      async () => {
        const {entries} = await ipc<{entries: {body?: Verdict}[]}>(node(2), "series", {
          tail: 100,
          kind: "block_verdict",
        });
        const ok = entries.flatMap((e) => (e.body?.status === "verified" ? [e.body] : []));
        return ok.length >= 3 && ok;
      },
      MACHINE_MS,
    );
    const {entries} = await ipc<{entries: {body?: Verdict}[]}>(node(2), "series", {tail: 100, kind: "block_verdict"});
    assert.deepEqual(
      entries.filter((e) => e.body?.status === "invalid"),
      [],
      "the devnet's chain is valid",
    );
    for (const v of verified) {
      assert.ok((v.timings?.totalMs ?? -1) >= 0, JSON.stringify(v));
      assert.equal(v.executed, true, `each payload was re-executed: ${JSON.stringify(v)}`);
    }
    // Enforced, it still signs: the devnet's heads are valid, so its attestations go out as the others' do.
    const after = Math.min(...verified.map((v) => v.slot ?? Infinity));
    await waitFor(
      "node 2 submitted an attestation for a verified head",
      async () => {
        const r = await ipc<{entries: {body?: Result}[]}>(node(2), "series", {tail: 200, kind: "duty_result"});
        return r.entries.some(
          (e) =>
            e.body?.duty === "attester" && e.body.status === "submitted" && e.body.slot > after && !e.body.headReplaced,
        );
      },
      MACHINE_MS,
    );
    const metrics = await fetch(`${node(2).http}/metrics`).then((r) => r.text());
    assert.match(metrics, /r3dv_evm_block_verdicts_total\{status="verified",reason=""\} [1-9]/);
    const s2 = await runCli(["status", "--ipc", node(2).ipc]);
    assert.match(
      s2.stdout,
      /block verification enforce from slot \d+: [1-9]\d* verified, 0 invalid, \d+ unverifiable; newest verified slot \d+/,
    );
    // Its verdicts reach the peers as eth_block chunks: node 4 (--verify off) keeps node 2's views and shows them.
    type ViewEntry = {
      chunk?: {origin: number; slot: number};
      view?: {verdict: string; root: string; slot: number; reason?: string};
    };
    const shared = await waitFor(
      "node 4 holds node 2's valid block views",
      async () => {
        const r = await ipc<{entries: ViewEntry[]}>(node(4), "series", {tail: 100, kind: "eth_block"});
        const views = r.entries.filter((e) => e.chunk?.origin === 2 && e.view?.verdict === "valid");
        return views.length >= 2 && views;
      },
      MACHINE_MS,
    );
    const roots = new Set(verified.map((v) => v.root));
    const {entries: later} = await ipc<{entries: {body?: Verdict}[]}>(node(2), "series", {
      tail: 200,
      kind: "block_verdict",
    });
    for (const e of later) if (e.body?.status === "verified") roots.add(e.body.root);
    for (const e of shared) {
      assert.ok(roots.has(e.view?.root ?? ""), `a view node 2 shared is a block it verified: ${JSON.stringify(e)}`);
      assert.equal(e.view?.slot, e.chunk?.slot, "filed under the block's slot");
    }
    const cli = await runCli(["series", "--ipc", node(4).ipc, "--kind", "eth_block", "--json", "--tail", "20"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /"verdict": ?"valid"/);
    const s4 = await runCli(["status", "--ipc", node(4).ipc]);
    assert.match(s4.stdout, /block verification off/);
    assert.match(s4.stdout, /peers' block views: .*operator 2: [1-9]\d* valid, 0 invalid/);
    assert.match(
      await fetch(`${node(4).http}/metrics`).then((r) => r.text()),
      /r3dv_block_views_total\{direction="received",verdict="valid"\} [1-9]/,
    );
    assert.equal(
      (await fetch(`${node(4).http}/metrics`).then((r) => r.text())).match(/r3dv_evm_block_verdicts_total\{/),
      null,
      "a node with --verify off judges nothing",
    );
  });

  it("a node whose execution endpoint forges its witnesses leaves every block unverified, says why, signs no head it did not verify, and the cluster goes on", async () => {
    type Verdict = {status: string; slot?: number; root: string; reason?: string; detail?: string};
    const unverified = await waitFor(
      "node 3 judged three blocks",
      async () => {
        const {entries} = await ipc<{entries: {body?: Verdict}[]}>(node(3), "series", {
          tail: 100,
          kind: "block_verdict",
        });
        const judged = entries.flatMap((e) => (e.body?.slot !== undefined ? [e.body] : []));
        return judged.length >= 3 && judged;
      },
      MACHINE_MS,
    );
    assert.ok(lyingExecution.tampered > 0, "node 3 asked the lying endpoint");
    // Never valid, never invalid: consensus passed (the chain is valid) and the payload was not proven. The
    // witness did not hash to the parent's state root; on a loaded machine an answer may also come too late.
    for (const v of unverified) {
      assert.equal(v.status, "unavailable", JSON.stringify(v));
      assert.ok(["bad_witness", "execution_unavailable"].includes(v.reason ?? ""), JSON.stringify(v));
    }
    const forgedWitness = unverified.filter((v) => v.reason === "bad_witness");
    assert.ok(forgedWitness.length > 0, JSON.stringify(unverified));
    for (const v of forgedWitness) assert.match(v.detail ?? "", /state root 0x[0-9a-f]{64}, the parent payload's is/);
    assert.match(
      await fetch(`${node(3).http}/metrics`).then((r) => r.text()),
      /r3dv_evm_block_verdicts_total\{status="unavailable",reason="bad_witness"\} [1-9]/,
    );
    // Its peers learn why: node 4 keeps node 3's views as unverified, never valid.
    type ViewEntry = {chunk?: {origin: number}; view?: {verdict: string; reason?: string}};
    const views = await waitFor(
      "node 4 holds node 3's views",
      async () => {
        const r = await ipc<{entries: ViewEntry[]}>(node(4), "series", {tail: 200, kind: "eth_block"});
        const from3 = r.entries.filter((e) => e.chunk?.origin === 3);
        return from3.length >= 2 && from3;
      },
      MACHINE_MS,
    );
    for (const e of views) assert.equal(e.view?.verdict, "unverified", JSON.stringify(e));
    assert.ok(
      views.some((e) => e.view?.reason === "bad_witness"),
      JSON.stringify(views),
    );
    // Fewer than threshold (3) peers verify (node 2 alone), so node 3 signs no head: its attestation duties end
    // head_unverified, naming the forged witness once its verdict is in (before, the head was not verified in
    // time), while nodes 1, 2 and 4 submit.
    const forged = (x: Result) => x.reason === "head_unverified" && /\(bad_witness\)/.test(x.detail ?? "");
    const refused = await waitFor(
      "node 3 refused an attestation duty for the forged witness",
      async () => {
        const r = await ipc<{entries: {body?: Result}[]}>(node(3), "series", {tail: 500, kind: "duty_result"});
        const att = r.entries.flatMap((e) => (e.body?.duty === "attester" ? [e.body] : []));
        return att.some(forged) && att;
      },
      MACHINE_MS,
    );
    // What node 3 did sign is a vote for a block it verified (its anchor, within the epoch a stand-in may be
    // old), never the head it could not verify: early on, with node 2 still verifying too, the cluster may decide
    // that vote. At slot 0 the head is the genesis block, the anchor itself: signed as it is, nothing replaced
    // (CI saw it once, when the nodes were ready before slot 0's duties).
    for (const x of refused.filter((y) => y.status !== "failed" && y.slot > 0))
      assert.equal(
        x.headReplaced?.reason,
        "head_unverified",
        `node 3 signed a head it did not verify: ${JSON.stringify(x)}`,
      );
    const slot = Math.max(...refused.filter(forged).map((x) => x.slot));
    // Node 3 refuses at the due time; node 2's result comes once the others' partials are recovered and submitted.
    await waitFor(
      `the cluster attested at slot ${slot} without node 3`,
      async () => {
        const r2 = await ipc<{entries: {body?: Result}[]}>(node(2), "series", {tail: 500, kind: "duty_result"});
        // Submitted on time or late (past the aggregators' fetch: slot 9 of a CI run here, three of four nodes
        // verifying every block on two cores): either way the cluster attested without node 3.
        return r2.entries.some(
          (e) =>
            e.body?.duty === "attester" &&
            e.body.slot === slot &&
            (e.body.status === "submitted" || e.body.status === "late"),
        );
      },
      MACHINE_MS,
    );
  });

  it("`r3dv peers` and `r3dv status` show the peers with RTT, the series and the limiter counters", async () => {
    for (const n of nodes) {
      const r = await runCli(["peers", "--ipc", n.ipc]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n").slice(1);
      assert.equal(lines.length, 3);
      for (const line of lines) assert.match(line, /^\d\tconnected\t\d+(\.\d)?ms\t/);
    }
    // A beacon node that dropped one request is benched for a second (BENCH_BASE_MS): status may say so meanwhile.
    const s = await waitFor("node 1's status says ready", async () => {
      const r = await runCli(["status", "--ipc", node(1).ipc]);
      assert.equal(r.code, 0, r.stderr);
      return /ready true \(peers 3\/2 needed, beacon synced true\)/.test(r.stdout) && r;
    });
    assert.match(s.stdout, /series \d+ entries/);
    assert.match(s.stdout, /limiters received \d+/);
  });

  it("a chunk pushed by each node is accepted and stored by the other three", async () => {
    for (const n of nodes) {
      const r = await ipc<PublishResult>(n, "publish", {kind: "probe", payload: `hello from ${n.index}`});
      // `duplicate` means the peer already held it (a catch-up fetch can overtake the push): stored either way.
      assert.deepEqual(
        r.answers.map((a) => (a.status === "duplicate" ? "accepted" : a.status)),
        ["accepted", "accepted", "accepted"],
        JSON.stringify(r.answers),
      );
      assert.equal(r.replicated, true);
      for (const other of nodes) assert.deepEqual(await ipc(other, "has", {ids: [r.id]}), [true]);
    }
    const metrics = await (await fetch(`${node(1).http}/metrics`)).text();
    assert.match(metrics, /^r3dv_peers_connected 3$/m);
    assert.match(metrics, /^r3dv_chunks_accepted_total\{kind="probe"\} [1-3]$/m);
    assert.match(metrics, /^r3dv_peer_rtt_seconds\{peer="2"\} /m);
    const status = (await (await fetch(`${node(1).http}/r3dv/v1/status`)).json()) as NodeStatus;
    assert.equal(status.limiters.accepted.probe, 3);
    assert.equal((await stat(node(1).ipc)).mode & 0o777, 0o600);
    const v = await runCli(["series", "--ipc", node(2).ipc, "--verify", "--tail", "5"]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /chain verified: \d+ entries/);
  });

  it("the Grafana dashboard and the alert rules name only metrics a running node exports", async () => {
    const metrics = await (await fetch(`${node(1).http}/metrics`)).text();
    const exported = new Set<string>();
    for (const [, name, type] of metrics.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.add(name as string);
      if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) exported.add(`${name}${s}`);
      if (type === "summary") for (const s of ["_sum", "_count"]) exported.add(`${name}${s}`);
    }
    const dashboard = JSON.parse(await readFile(join(REPO, "deploy/grafana/r3dv-dashboard.json"), "utf8")) as {
      panels: {title: string; targets?: {expr: string}[]}[];
      templating: {list: {definition?: string}[]};
    };
    const queries: [string, string][] = [
      ...dashboard.panels.flatMap((p) =>
        (p.targets ?? []).map((t): [string, string] => [`panel "${p.title}"`, t.expr]),
      ),
      ...dashboard.templating.list.flatMap((v): [string, string][] =>
        v.definition ? [["a variable", v.definition]] : [],
      ),
    ];
    // Each rule's expression: a one-line `expr:` or a folded block (`expr: >` and the lines indented below it).
    const rules = await readFile(join(REPO, "deploy/prometheus/alerts.yml"), "utf8");
    for (const [, alert, body] of rules.matchAll(/- alert: (\S+)\n([\s\S]*?)(?=\n {6}- alert:|$)/g)) {
      const expr = /expr: (?:>\n((?: {10}.*\n)+)|(.*))/.exec(body as string);
      queries.push([`alert ${alert}`, (expr?.[1] ?? expr?.[2] ?? "").trim()]);
    }
    assert.ok(queries.length > 30, `${queries.length} queries read`);
    for (const [where, expr] of queries) {
      // `up` is Prometheus' own series for a scrape target, the only name the node does not serve.
      const names = [...expr.matchAll(/\b(r3dv_[a-z0-9_]+|up(?=\{))\b/g)].map((m) => m[1]);
      assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
      for (const n of names) assert.ok(n === "up" || exported.has(n as string), `${where}: ${n} is not exported`);
    }
  });

  it("refuses a peer with a valid identity that is not in the lock", async () => {
    const outsider = await Member.start(lock, c.nodeDir(1), 9, await generateKeyPair("Ed25519"));
    members.push(outsider);
    await assert.rejects(async () => {
      await outsider.dial(1);
      // The gater may let the handshake finish and close right after: a push must fail either way.
      await outsider.channel(1).push(new Uint8Array(40), 3000);
    });
    const metrics = await waitFor("refusal metric", async () => {
      const m = await (await fetch(`${node(1).http}/metrics`)).text();
      return /^r3dv_connections_refused_total\{direction="inbound",stage="peer_id"\} [1-9]/m.test(m) && m;
    });
    assert.match(metrics, /^r3dv_peers_connected 3$/m);
  });

  it("refuses and records a chunk with a forged signature", async () => {
    await node(4).kill();
    await waitFor("node 1 sees node 4 gone", async () =>
      (await ipc<PeerStatus[]>(node(1), "peers")).some((p) => p.operator === 4 && !p.connected),
    );
    const m4 = await Member.start(lock, c.nodeDir(4), 4);
    members.push(m4);
    await m4.dial(1);
    const ch = m4.channel(1);
    const slot = (await ipc<NodeStatus>(node(1), "status")).slot as number;
    const forged = await m4.chunk("probe", slot, 1, Buffer.from("forged"), {origin: 2});
    assert.deepEqual(await ch.push(forged), {status: "refused", limiter: "signature", reason: "bad_signature"});
    const honest = await m4.chunk("probe", slot, 2, Buffer.from("honest"));
    assert.deepEqual(await ch.push(honest), {status: "accepted"});
    const tail = await ipc<{
      entries: {type: string; body: {limiter: string; reason: string; origin: number; from: number}}[];
    }>(node(1), "series", {tail: 5, kind: "chunk_refused"});
    const rec = tail.entries.at(-1);
    assert.equal(rec?.body.reason, "bad_signature");
    assert.equal(rec?.body.origin, 2);
    assert.equal(rec?.body.from, 4);
  });

  // The design's bound (50 ms at p99) is measured by the node bench on a quiet machine. Here, on two shared cores
  // running four nodes and a devnet, the tail of a difference of two round trips is the machine's noise (samples
  // of -300 ms, the unflooded peer slower, are seen): the test holds the median to the bound and prints the tail.
  it("a peer flooding 10,000 chunks/s is rate-limited, and another peer's current-slot chunks are all accepted, delayed under 50 ms at the median", async (t) => {
    const m4 = members.at(-1) as Member;
    const slot = (await ipc<NodeStatus>(node(1), "status")).slot as number;
    // Node 2 pushes each chunk to node 1 (flooded) and node 3 (not) at once: the difference of the two round
    // trips is the flood's delay, with what the whole machine's load does to both taken out.
    const rtts = async (n: number, minMs = 0): Promise<number[]> => {
      const out: number[] = [];
      const t0 = Date.now();
      for (let i = 0; i < n || Date.now() - t0 < minMs; i++) {
        const r = await ipc<PublishResult>(node(2), "publish", {kind: "probe", payload: `fair ${i}`});
        const a = r.answers.find((x) => x.peer === 1);
        const b = r.answers.find((x) => x.peer === 3);
        // `duplicate`: the peer already held it (a catch-up fetch can be faster than the push): stored either way.
        assert.ok(a?.status === "accepted" || a?.status === "duplicate", JSON.stringify(a));
        assert.ok(b?.status === "accepted" || b?.status === "duplicate", JSON.stringify(b));
        out.push((a?.ms as number) - (b?.ms as number));
      }
      return out;
    };
    // Baseline and flood are sampled alike (>= 2 s each), so whatever else loads the machine loads both.
    const baseline = await rtts(60, 2000);
    // Signed in advance: the flooder's own signing cost must not throttle the flood.
    const flood: Uint8Array[] = [];
    for (let i = 0; i < 30_000; i++) flood.push(await m4.chunk("probe", slot, 10_000 + i, Buffer.alloc(100, i & 255)));
    const rateRefused = async () => {
      const m = /^r3dv_chunks_refused_total\{[^}]*limiter="rate"[^}]*\} (\d+)/m.exec(
        await (await fetch(`${node(1).http}/metrics`)).text(),
      );
      return Number(m?.[1] ?? 0);
    };
    const refusedBefore = await rateRefused();
    let stop = false;
    const flooding = m4.flood(1, flood, 10_000, () => stop);
    // Sample only once the flood is on: node 1's rate limiter has started refusing the flooder.
    await waitFor("the flood rate-limited", async () => (await rateRefused()) > refusedBefore, MACHINE_MS, 50);
    // At least 2 s of flood: 20,000 chunks, long enough for any backlog to build.
    const during = await rtts(60, 2000);
    stop = true;
    const {sent, seconds: floodSecs, answers} = await flooding;
    const refusedRate = answers["refused:rate"] ?? 0;
    const delayP99 = percentile(during, 99) - percentile(baseline, 99);
    const delayP50 = percentile(during, 50) - percentile(baseline, 50);
    if (process.env.R3DV_DEBUG_FLOOD) {
      console.error(during.map((x) => Math.round(x)).join(","));
      console.error(
        (await (await fetch(`${node(1).http}/metrics`)).text())
          .split("\n")
          .filter((l) => /admission_seconds_bucket|eventloop_lag|gc_duration_seconds_sum/.test(l))
          .join("\n"),
      );
      console.error(
        "node2 loop p99",
        (await ipc<NodeStatus>(node(2), "status")).eventLoopDelayP99Ms,
        "node1",
        (await ipc<NodeStatus>(node(1), "status")).eventLoopDelayP99Ms,
      );
    }
    console.error(
      `flood: ${sent} chunks in ${floodSecs.toFixed(1)} s (${Math.round(sent / floodSecs)}/s), answers ${JSON.stringify(answers)}; ` +
        `victim RTT to node 1 minus RTT to node 3: baseline p50 ${percentile(baseline, 50).toFixed(1)} p99 ${percentile(baseline, 99).toFixed(1)} ms, during flood p50 ${percentile(during, 50).toFixed(1)} p99 ${percentile(during, 99).toFixed(1)} ms`,
    );
    assert.ok(sent / floodSecs > 5000, `the flood reached only ${sent / floodSecs}/s`);
    assert.ok(refusedRate > 0, "the flooder was never rate-limited");
    assert.ok(
      delayP50 < 50,
      `victim delay p50 ${delayP50.toFixed(1)} ms; samples ${during.map((x) => Math.round(x)).join(",")}`,
    );
    t.diagnostic(`victim delay p99 ${delayP99.toFixed(1)} ms (the node bench judges it)`);
  });

  // Each limiter's every refusal is checked on a store node in-process (test/roles/store/admission.test.ts, where
  // the clock can stand a hundred slots past genesis); here, that a real node's counters and series window keep them.
  it("each limiter refuses with its own reason under its condition, in the node's counters and series window", async () => {
    const m4 = members.at(-1) as Member;
    const ch = m4.channel(1);
    // A chunk older than the current duty needs a chain at least that old.
    const slot = await waitFor(
      "the chain's slot",
      async () => {
        const s = (await ipc<NodeStatus>(node(1), "status")).slot;
        return s !== undefined && s >= OBJECTIVE_CURRENT_SLOTS && s;
      },
      MACHINE_MS,
      250,
    );
    type Limiters = {refused: Record<string, number>; window: {refusedByLimiter: Record<string, number>}};
    const earlier = (await ipc<Limiters>(node(1), "limiters", {window: 100_000})).refused;
    let seq = 100;
    // W-tracking: two block views of one slot from one origin, then the third is refused. Operator 4's real node
    // verifies with --verify off, so it sends none of its own.
    for (let i = 0; i < W_SLOT_ALLOWANCE; i++) {
      const a = await ch.push(await m4.chunk("eth_block", slot, seq++, Buffer.from(`block ${i}`)));
      assert.equal(a.status, "accepted", `eth_block ${i + 1}: ${JSON.stringify(a)}`);
    }
    assert.deepEqual(await ch.push(await m4.chunk("eth_block", slot, seq++, Buffer.from("block 3"))), {
      status: "refused",
      limiter: "w_tracking",
      reason: "slot_allowance_spent",
    });
    // topology: with 3 connected store peers a chunk older than the current duty is taken; with 2 it is not.
    const older = slot - OBJECTIVE_CURRENT_SLOTS;
    assert.equal((await ch.push(await m4.chunk("probe", older, seq++, Buffer.from("a")))).status, "accepted");
    await node(3).kill();
    await waitFor(
      "node 1 down to 2 peers",
      async () => (await ipc<NodeStatus>(node(1), "status")).ready.peersConnected === 2,
    );
    assert.deepEqual(await ch.push(await m4.chunk("probe", older, seq++, Buffer.from("b"))), {
      status: "refused",
      limiter: "topology",
      reason: "too_few_peers",
    });
    // Read again: a busy machine can take OBJECTIVE_CURRENT_SLOTS slots to stop node 3.
    const current = (await ipc<NodeStatus>(node(1), "status")).slot as number;
    assert.equal((await ch.push(await m4.chunk("probe", current, seq++, Buffer.from("c")))).status, "accepted");
    const lim = await ipc<Limiters>(node(1), "limiters", {window: 100_000});
    const added = (k: string) => (lim.refused[k] ?? 0) - (earlier[k] ?? 0);
    // Only this test's member sends that many block views, or a forged signature (earlier).
    assert.equal(added("w_tracking:slot_allowance_spent"), 1);
    assert.equal(lim.refused["signature:bad_signature"], 1);
    // The nodes' own duty chunks from earlier slots meet the same topology refusal while node 1 has two peers.
    assert.ok(added("topology:too_few_peers") >= 1, JSON.stringify(lim.refused));
    assert.deepEqual(Object.keys(lim.window.refusedByLimiter).sort(), ["rate", "signature", "topology", "w_tracking"]);
  });

  it("economic: a node over its storage budget refuses storage_full", async () => {
    await node(1).kill();
    const n1 = await spawnNode(c, 1, devnet.url, ["--storage-budget", "4096"]);
    nodes.push(n1);
    const m4 = members.at(-1) as Member;
    await waitFor("node 1 back", async () => (await fetch(`${n1.http}/livez`)).ok);
    await waitFor("member reconnected", async () => {
      await m4.dial(1);
      return true;
    });
    const slot = (await ipc<NodeStatus>(n1, "status")).slot as number;
    const a = await m4.channel(1).push(await m4.chunk("probe", slot, 99_999, Buffer.from("too much")));
    assert.deepEqual(a, {status: "refused", limiter: "economic", reason: "storage_full"});
  });
});
