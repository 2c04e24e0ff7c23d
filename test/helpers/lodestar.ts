import {type ChildProcess, execFile, spawn} from "node:child_process";
import {createWriteStream, existsSync} from "node:fs";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {promisify} from "node:util";
import {LOCK_FILE, createCluster, nodeDirName} from "../../src/cluster/createCluster.js";
import {type TestCluster, freePorts} from "./cluster.js";

/**
 * The project's own harness for a real, independent beacon node: Lodestar v1.5.1 in `dev` mode (minimal
 * preset, Altair from genesis), pinned in test/harness/lodestar/ (the versions, overrides and Promise
 * polyfill that make that release install and start today). Installed on first use (~2 min, 430 MB).
 */
const HARNESS = fileURLToPath(new URL("../../../test/harness/lodestar/", import.meta.url));
const NODE = join(HARNESS, "node_modules/.bin/node");
const LODESTAR = join(HARNESS, "node_modules/@chainsafe/lodestar/lib/index.js");

/** Lodestar needs 10+ s to shut down cleanly; after this it is killed. */
const STOP_GRACE_MS = 15_000;

/** One free port, drawn the way node tests draw theirs (below the ephemeral range). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0] as number;
}

export async function ensureLodestarInstalled(): Promise<void> {
  if (existsSync(LODESTAR) && existsSync(NODE)) return;
  await promisify(execFile)("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: HARNESS,
    timeout: 600_000,
  });
}

export interface LodestarNode {
  url: string;
  genesisTime: number;
  logFile: string;
  stop(): Promise<void>;
}

export async function startLodestar(opts: {
  validators: number;
  own: string;
  slotSeconds?: number;
  genesisDelay?: number;
}): Promise<LodestarNode> {
  await ensureLodestarInstalled();
  const dir = await mkdtemp(join(tmpdir(), "r3dv-lodestar-"));
  const [restPort, p2pPort] = [await freePort(), await freePort()];
  const genesisTime = Math.floor(Date.now() / 1000) + (opts.genesisDelay ?? 10);
  const url = `http://127.0.0.1:${restPort}`;
  const args = [
    "--require",
    join(HARNESS, "promise-with-resolvers.cjs"),
    LODESTAR,
    "dev",
    "--dataDir",
    join(dir, "chain"),
    "--reset",
    "--genesisValidators",
    String(opts.validators),
    "--genesisTime",
    String(genesisTime),
    "--rest",
    "--rest.address",
    "127.0.0.1",
    "--rest.port",
    String(restPort),
    "--rest.namespace",
    "*",
    "--listenAddress",
    "127.0.0.1",
    "--port",
    String(p2pPort),
    "--discv5",
    "false",
    "--params.SECONDS_PER_SLOT",
    String(opts.slotSeconds ?? 2),
    "--params.ALTAIR_FORK_EPOCH",
    "0",
    // Without --server, dev mode's own validators dial the default port 9596, not --rest.port, and never sign.
    ...(opts.own === "none" ? [] : ["--startValidators", opts.own, "--server", url]),
  ];
  const logFile = join(dir, "lodestar.log");
  const log = createWriteStream(logFile);
  // cwd: Lodestar dev writes genesis.ssz into its working directory.
  const child: ChildProcess = spawn(NODE, args, {cwd: dir, stdio: ["ignore", "pipe", "pipe"]});
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, {recursive: true, force: true});
  };
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`lodestar exited with code ${child.exitCode}; see ${logFile}`);
      const ok = await fetch(`${url}/eth/v1/node/syncing`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`lodestar did not serve its API within 120 s; see ${logFile}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {url, genesisTime, logFile, stop};
}

/**
 * A 3-of-4 cluster of interop validators `first..first+count-1` (the ones a Lodestar started with `--own`
 * below `first` leaves to us), laid out as `spawnNode` expects.
 */
export async function lodestarCluster(first: number, count: number): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), "r3dv-on-lodestar-"));
  const ports = await freePorts(4);
  const out = join(dir, "cluster");
  await createCluster({
    nodes: 4,
    threshold: 3,
    keys: {kind: "interop", start: first, count},
    network: "devnet",
    withdrawalAddress: "0x" + "11".repeat(20),
    kdf: "pbkdf2",
    out,
    operators: ports.map((p) => `127.0.0.1:${p}`),
  });
  return {
    dir,
    lock: join(out, LOCK_FILE),
    ports,
    nodeDir: (i) => join(out, nodeDirName(i)),
    dataDir: (i) => join(dir, `data-${i}`),
    cleanup: () => rm(dir, {recursive: true, force: true}),
  };
}
