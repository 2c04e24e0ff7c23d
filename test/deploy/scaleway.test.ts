import assert from "node:assert/strict";
import {execFile} from "node:child_process";
import {readFile, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {after, before, describe, it} from "node:test";
import {type TestCluster, makeCluster} from "../helpers/cluster.js";

const SCRIPT = fileURLToPath(new URL("../../../deploy/scaleway/deploy.sh", import.meta.url));

function deploy(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    // No scw, ssh or docker is reached: a dry run prints every command and runs none (this machine reaches no cloud).
    execFile("bash", [SCRIPT, ...args], {timeout: 30_000}, (err, stdout, stderr) =>
      resolve({code: err ? ((err as {code?: number}).code ?? 1) : 0, stdout, stderr}),
    );
  });
}

/** The Scaleway deploy script in dry run, on a real cluster's lock and node folder. */
describe("deploy/scaleway/deploy.sh --dry-run", () => {
  let c: TestCluster;
  let tar: string;
  let lock: {operators: {address: string}[]};
  before(async () => {
    c = await makeCluster(4, 1);
    tar = join(c.dir, "r3dv.tar");
    await writeFile(tar, "an image saved with docker save");
    lock = JSON.parse(await readFile(c.lock, "utf8")) as typeof lock;
  });
  after(() => c?.cleanup());

  const up = (extra: string[] = []) => [
    "up",
    "--dry-run",
    "--node",
    "2",
    "--ip",
    "51.15.0.2",
    "--lock",
    c.lock,
    "--node-dir",
    c.nodeDir(2),
    "--beacon-node",
    "http://10.0.0.5:5052",
    "--admin-cidr",
    "203.0.113.7/32",
    "--image-tar",
    tar,
    ...extra,
  ];

  it("prints, in order, every command that creates the instance, opens the p2p port to the other operators only, copies the node's files and starts it", async () => {
    const r = await deploy(up());
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("+ "));
    const port = lock.operators[1]?.address.split(":")[1] as string;
    const others = [0, 2, 3].map((k) => lock.operators[k]?.address.split(":")[0]);
    const at = (re: RegExp) => {
      const k = lines.findIndex((l) => re.test(l));
      assert.ok(k >= 0, `no command matching ${re}:\n${lines.join("\n")}`);
      return k;
    };
    const sg = at(/^\+ scw instance security-group create zone=fr-par-1 name=r3dv-node-2 inbound-default-policy=drop/);
    const ssh = at(/create-rule .*protocol=TCP dest-port-from=22 ip-range=203\.0\.113\.7\/32/);
    const p2p = lines.filter((l) => l.includes(`dest-port-from=${port} `));
    assert.deepEqual(
      p2p.map((l) => /ip-range=(\S+)/.exec(l)?.[1]),
      others.map((h) => `${h}/32`),
      "one rule per other operator, none for this node or for everyone",
    );
    assert.ok(
      p2p.every((l) => l.includes("'security-group-id=<security-group-id>'")),
      p2p.join("\n"),
    );
    const server = at(
      /scw instance server create zone=fr-par-1 type=PRO2-S image=ubuntu_noble name=r3dv-node-2 ip=51\.15\.0\.2 .*--wait/,
    );
    const install = at(/root@51\.15\.0\.2 .*apt-get install -yq docker\.io/);
    const copyLock = at(
      new RegExp(
        `^\\+ scp -p ${c.lock.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} root@51\\.15\\.0\\.2:/opt/r3dv/cluster-lock\\.json`,
      ),
    );
    const copyNode = at(/^\+ scp -rp .*node-2\/\. root@51\.15\.0\.2:\/opt\/r3dv\/node\//);
    const load = at(/docker load -i \/opt\/r3dv\/r3dv\.tar/);
    const start = at(/docker run -d --name r3dv --restart unless-stopped/);
    assert.match(
      lines[start] as string,
      new RegExp(`R3DV_BEACON_NODE=http://10\\.0\\.0\\.5:5052 -p ${port}:9000 -p 127\\.0\\.0\\.1:8080:8080 r3dv`),
    );
    assert.match(lines[start] as string, /-v r3dv-data:\/data/);
    const healthy = at(/docker inspect -f .*State\.Health\.Status.* r3dv/);
    const health = at(/docker exec r3dv r3dv health$/);
    const order = [sg, ssh, server, install, copyLock, copyNode, load, start, healthy, health];
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      "in the order a deploy needs",
    );
  });

  it("refuses what cannot deploy, saying what to give", async () => {
    const cases: [string[], RegExp][] = [
      [["up", "--dry-run", "--node", "2"], /--ip: expected the IP reserved with 'deploy\.sh ip'/],
      [up(["--node", "9"]), /is not a cluster lock with an operator 9/],
      [up(["--node-dir", c.dir]), /holds no identity\.key; give this node's folder/],
      [up(["--admin-cidr", "everyone"]), /--admin-cidr: expected the network ssh may come from/],
      [["launch"], /unknown command 'launch': expected ip, up or health/],
    ];
    for (const [args, message] of cases) {
      const r = await deploy(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it("reserves the node's address and checks a deployed node's health", async () => {
    const ip = await deploy(["ip", "--dry-run", "--node", "3"]);
    assert.equal(ip.code, 0, ip.stderr);
    assert.match(ip.stderr, /^\+ scw instance ip create zone=fr-par-1 tags\.0=r3dv tags\.1=r3dv-node-3$/m);
    const health = await deploy(["health", "--dry-run", "--ip", "51.15.0.2"]);
    assert.match(health.stderr, /^\+ ssh root@51\.15\.0\.2 docker exec r3dv r3dv health$/m);
  });
});
