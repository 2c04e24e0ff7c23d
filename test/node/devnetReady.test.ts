import assert from "node:assert/strict";
import {type ChildProcess, spawn} from "node:child_process";
import {readFile} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {
  MAIN,
  MULTIPROCESS_LOCK,
  type NodeProc,
  type TestCluster,
  freePorts,
  makeCluster,
  runCli,
  spawnNode,
  waitFor,
} from "../helpers/cluster.js";
import {acquireExclusive} from "../helpers/exclusive.js";

describe("four r3dv run processes against the embedded devnet beacon node", {timeout: 180_000}, () => {
  let c: TestCluster;
  let devnet: ChildProcess | undefined;
  let url = "";
  const nodes: NodeProc[] = [];
  let release: (() => Promise<void>) | undefined;

  before(async () => {
    release = await acquireExclusive(MULTIPROCESS_LOCK);
    const [port] = await freePorts(1);
    url = `http://127.0.0.1:${port}`;
    devnet = spawn(
      process.execPath,
      // The devnet signs for every validator but the cluster's (0): a chain that stops growing reports itself
      // syncing after 8 slots (as Lodestar does), and four processes may take that long to start on two cores.
      [MAIN, "devnet-beacon", "--port", String(port), "--validators", "8", "--own", "1..7", "--log-level", "warn"],
      {stdio: "ignore"},
    );
    c = await makeCluster(4);
    await waitFor(
      "devnet beacon node answering",
      async () => (await fetch(`${url}/eth/v1/node/syncing`)).ok,
      60_000,
      250,
    );
  });

  after(async () => {
    for (const n of nodes) await n.kill("SIGKILL");
    if (devnet && devnet.exitCode === null) {
      const exited = new Promise((r) => devnet?.once("exit", r));
      devnet.kill("SIGKILL");
      await exited;
    }
    await c?.cleanup();
    await release?.();
  });

  it("are all ready on /readyz, and `r3dv status` shows peers, series and limiters", async (t) => {
    const t0 = Date.now();
    for (let i = 1; i <= 4; i++) nodes.push(await spawnNode(c, i, url));
    // How long four processes take to start on two shared cores measures the machine, not r3dv: the deadline only
    // catches a node that never gets ready, and the time is reported.
    for (const n of nodes)
      await waitFor(`node ${n.index} ready`, async () => (await fetch(`${n.http}/readyz`)).status === 200, 90_000);
    t.diagnostic(`all four ready ${Date.now() - t0} ms after the first spawn`);
    for (const n of nodes) {
      const r = await runCli(["status", "--ipc", n.ipc]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`operator ${n.index}/4`));
      assert.match(r.stdout, /beacon synced true\), slot \d+/);
      assert.match(r.stdout, /^series \d+ entries, \d+ of \d+ bytes/m);
      assert.match(r.stdout, /^limiters received \d+/m);
      assert.equal(r.stdout.split("\n").filter((l) => /^\d\tconnected\t/.test(l)).length, 3);
    }
  });

  it("`r3dv retire` stops a node signing from an epoch, durably, shown in its status; never moved later", async () => {
    const n = nodes[3] as NodeProc;
    // Far ahead: the other checks of this run are done, but the node keeps its duties until then.
    const r = await runCli(["retire", "--epoch", "1000", "--ipc", n.ipc]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /signs nothing slashable from epoch 1000 on/);
    const file = JSON.parse(await readFile(join(c.dataDir(4), "retirement.json"), "utf8"));
    const {lock_hash} = JSON.parse(await readFile(c.lock, "utf8"));
    assert.deepEqual(file, {lock_hash, epoch: 1000});
    const status = await runCli(["status", "--ipc", n.ipc, "--json"]);
    assert.equal(JSON.parse(status.stdout).cluster.retiredFromEpoch, 1000);
    const later = await runCli(["retire", "--epoch", "2000", "--ipc", n.ipc]);
    assert.notEqual(later.code, 0);
    assert.match(later.stderr, /already retired from epoch 1000; a retirement never moves later/);
  });
});
