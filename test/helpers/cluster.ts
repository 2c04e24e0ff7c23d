import {type CliResult, MAIN, runR3dv} from "./cli.js";
import {type ChildProcess, spawn} from "node:child_process";
import {createWriteStream} from "node:fs";
import {mkdtemp, rm} from "node:fs/promises";
import {type Server, createServer as createHttpServer} from "node:http";
import {type Server as NetServer, createServer} from "node:net";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {LOCK_FILE, createCluster, nodeDirName} from "../../src/cluster/createCluster.js";
import {ipcRequest} from "../../src/api/ipc.js";

/** Held by the suites that run node clusters, so they never overlap (see exclusive.ts). */
export const MULTIPROCESS_LOCK = "r3dv-node-multiprocess-tests";

export {MAIN};

/**
 * Free ports for node listeners, drawn at random from 20000-31999 and checked by binding. Below Linux's
 * ephemeral range (32768+) on purpose: port 0 and every outgoing connection of parallel suites take ports
 * from that range, and one of them could take a port between this probe and the node's own listen.
 */
export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (out.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s: NetServer = createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (free) out.push(port);
  }
  return out;
}

export interface FakeBeacon {
  url: string;
  synced: boolean;
  close(): Promise<void>;
}

/**
 * A Beacon-API-shaped HTTP server answering only what the node runtime reads (node/syncing, beacon/genesis,
 * config/spec), with genesis set so that "now" is `slot` slots after it. Only the flood bench (bench/floodSuite.ts)
 * uses it, because it measures the push path alone: its spec has no PRESET_BASE, so a node's validator half never
 * starts (it retries), and no duty's CPU is charged to the chunk latency it measures. Every test and the node bench
 * run the embedded devnet.
 */
export async function fakeBeacon(
  opts: {secondsPerSlot?: number; slotsPerEpoch?: number; slot?: number} = {},
): Promise<FakeBeacon> {
  const secondsPerSlot = opts.secondsPerSlot ?? 12;
  const genesisTime = Math.floor(Date.now() / 1000) - (opts.slot ?? 1000) * secondsPerSlot;
  const state = {synced: true};
  const server: Server = createHttpServer((req, res) => {
    const json = (code: number, body: unknown) => {
      res.writeHead(code, {"content-type": "application/json"});
      res.end(JSON.stringify(body));
    };
    if (req.url?.startsWith("/eth/v1/node/syncing")) {
      return json(200, {
        data: {
          head_slot: "100",
          sync_distance: state.synced ? "0" : "50",
          is_syncing: !state.synced,
          is_optimistic: false,
          el_offline: false,
        },
      });
    }
    if (req.url?.startsWith("/eth/v1/beacon/genesis")) {
      return json(200, {
        data: {
          genesis_time: String(genesisTime),
          genesis_validators_root: "0x" + "00".repeat(32),
          genesis_fork_version: "0x00000001",
        },
      });
    }
    if (req.url?.startsWith("/eth/v1/config/spec")) {
      return json(200, {
        data: {SECONDS_PER_SLOT: String(secondsPerSlot), SLOTS_PER_EPOCH: String(opts.slotsPerEpoch ?? 8)},
      });
    }
    json(404, {code: 404, message: "not found"});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as {port: number}).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get synced() {
      return state.synced;
    },
    set synced(v: boolean) {
      state.synced = v;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export interface TestCluster {
  dir: string;
  lock: string;
  ports: number[];
  nodeDir(i: number): string;
  dataDir(i: number): string;
  cleanup(): Promise<void>;
}

/** A cluster of `nodes` operators (default threshold) running interop validators 0..validators-1. */
/** A cluster of `nodes` over the interop keys `start..start+validators-1`. */
export async function makeCluster(nodes = 4, validators = 1, start = 0): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), "r3dv-node-"));
  const ports = await freePorts(nodes);
  await createCluster({
    nodes,
    keys: {kind: "interop", start, count: validators},
    network: "devnet",
    withdrawalAddress: "0x000000000000000000000000000000000000dEaD",
    kdf: "pbkdf2",
    out: join(dir, "cluster"),
    operators: ports.map((p) => `127.0.0.1:${p}`),
  });
  return {
    dir,
    lock: join(dir, "cluster", LOCK_FILE),
    ports,
    nodeDir: (i) => join(dir, "cluster", nodeDirName(i)),
    dataDir: (i) => join(dir, `data-${i}`),
    cleanup: () => rm(dir, {recursive: true, force: true}),
  };
}

export interface NodeProc {
  index: number;
  proc: ChildProcess;
  ipc: string;
  http: string;
  log: string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `r3dv run` for operator i as its own process; stdout/stderr go to a log file in the cluster dir. */
export async function spawnNode(
  c: TestCluster,
  i: number,
  beaconUrl: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<NodeProc> {
  const [httpPort] = await freePorts(1);
  const ipc = join(c.dir, `n${i}.sock`);
  const log = join(c.dir, `node-${i}.log`);
  const out = createWriteStream(log, {flags: "a"});
  const args = [
    MAIN,
    "run",
    "--lock",
    c.lock,
    "--node-dir",
    c.nodeDir(i),
    "--data-dir",
    c.dataDir(i),
    "--beacon-node",
    beaconUrl,
    "--http",
    `127.0.0.1:${httpPort}`,
    "--ipc",
    ipc,
    ...extra,
  ];
  const proc = spawn(process.execPath, args, {stdio: ["ignore", "pipe", "pipe"], env: {...process.env, ...env}});
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    index: i,
    proc,
    ipc,
    http: `http://127.0.0.1:${httpPort}`,
    log,
    exited,
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export function ipc<T = unknown>(n: NodeProc, method: string, params: Record<string, unknown> = {}): Promise<T> {
  return ipcRequest<T>(n.ipc, method, params);
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return runR3dv(args, {env, timeoutMs});
}
