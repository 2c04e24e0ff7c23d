import assert from "node:assert/strict";
import {mkdir, readFile, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {IDENTITY_FILE, generateIdentity, writeIdentity} from "../../src/cluster/identity.js";
import {Series} from "../../src/storage/series.js";
import {MULTIPROCESS_LOCK, type TestCluster, makeCluster, runCli, spawnNode, waitFor} from "../helpers/cluster.js";
import {acquireExclusive} from "../helpers/exclusive.js";

describe("r3dv run refuses to start, with a clear message", {timeout: 120_000}, () => {
  let c: TestCluster;
  const base = (): string[] => [
    "run",
    "--lock",
    c.lock,
    "--node-dir",
    c.nodeDir(1),
    "--data-dir",
    c.dataDir(1),
    "--beacon-node",
    "http://127.0.0.1:1",
  ];

  let release: (() => Promise<void>) | undefined;

  before(async () => {
    release = await acquireExclusive(MULTIPROCESS_LOCK);
    c = await makeCluster(4);
  });
  after(async () => {
    await c?.cleanup();
    await release?.();
  });

  it("on missing and malformed flags (exit 2, naming the flag and its variable)", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["run", "--node-dir", "x", "--data-dir", "y", "--beacon-node", "http://a:1"],
        /--lock \(or R3DV_LOCK\): is required/,
      ],
      [[...base(), "--http", "localhost:99999"], /--http \(or R3DV_HTTP\): "localhost:99999" is not IP:PORT/],
      [[...base(), "--workers", "zero"], /--workers \(or R3DV_WORKERS\): expected an integer from 1 to 64/],
      [[...base().slice(0, -1), "not a url"], /--beacon-node \(or R3DV_BEACON_NODE\): "not a url" is not a URL/],
      [[...base(), "--p2p-listen", "/ip4/127.0.0.1/udp/9"], /--p2p-listen \(or R3DV_P2P_LISTEN\)/],
      [[...base(), "--storage-budget", "lots"], /--storage-budget \(or R3DV_STORAGE_BUDGET\): expected a size/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
  });

  it("reads every flag from its R3DV_* variable", async () => {
    const env = {
      R3DV_LOCK: c.lock,
      R3DV_NODE_DIR: c.nodeDir(1),
      R3DV_DATA_DIR: c.dataDir(1),
      R3DV_BEACON_NODE: "http://127.0.0.1:1",
      R3DV_LOG_LEVEL: "chatty",
    };
    const r = await runCli(["run"], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--log-level \(or R3DV_LOG_LEVEL\): expected one of error, warn, info, debug, got "chatty"/);
  });

  it("on a malformed lock and on a lock whose hash does not match", async () => {
    const bad = join(c.dir, "bad-lock.json");
    await writeFile(bad, "{not json");
    let r = await runCli(["run", "--lock", bad, ...base().slice(3)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad-lock\.json is not valid JSON/);
    const edited = JSON.parse(await readFile(c.lock, "utf8")) as {name: string};
    edited.name = "renamed";
    await writeFile(bad, JSON.stringify(edited));
    r = await runCli(["run", "--lock", bad, ...base().slice(3)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /lock_hash 0x[0-9a-f]+ does not match the content/);
  });

  it("on a node dir whose identity is not one of the lock's operators", async () => {
    const stranger = join(c.dir, "stranger");
    await mkdir(stranger);
    await writeIdentity(join(stranger, IDENTITY_FILE), (await generateIdentity()).privateKey);
    const r = await runCli(["run", "--lock", c.lock, "--node-dir", stranger, ...base().slice(5)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not an operator of .*cluster-lock\.json/);
  });

  it("on a data dir that belongs to another cluster", async () => {
    const other = join(c.dir, "other-data");
    await (await Series.open({dir: other, lockHash: "0x" + "11".repeat(32), operator: 1, budgetBytes: 1e9})).close();
    const r = await runCli([...base().slice(0, 5), "--data-dir", other, "--beacon-node", "http://127.0.0.1:1"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /data dir .*other-data belongs to cluster 0x1111/);
  });

  it("exits 0 on a SIGTERM that lands while it is still starting (keys decrypting, beacon node unreachable)", async () => {
    const n = await spawnNode(c, 2, "http://127.0.0.1:1");
    try {
      // /livez answers before the key shares are decrypted: a SIGTERM at that moment once stopped the roles
      // started so far, and the rest of start then opened a beacon retry loop that kept the process alive.
      await waitFor("/livez", async () => (await fetch(`${n.http}/livez`).catch(() => undefined))?.ok, 30_000, 10);
      n.proc.kill("SIGTERM");
      const code = await Promise.race([n.exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 10_000))]);
      assert.equal(code, 0, `exit within 10 s of SIGTERM, cleanly: ${await readFile(n.log, "utf8")}`);
    } finally {
      await n.kill("SIGKILL");
    }
  });
});
