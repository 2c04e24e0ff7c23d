import {join} from "node:path";
import {LOCK_FILE, createCluster, nodeDirName} from "../cluster/createCluster.js";
import type {VerifyMode} from "../node/config.js";
import type {RecovererMode} from "../roles/validator/exchange/recoverers.js";
import {freeLocalPorts} from "./ports.js";

/** Interop keys are public: their withdrawals go to an address everyone knows is burnt. */
const DEVNET_WITHDRAWAL = "0x000000000000000000000000000000000000dEaD";

export interface DevnetNode {
  index: number;
  nodeDir: string;
  dataDir: string;
  /** The port the lock names for this node: its own, or with --latency the delay proxy's in front of it. */
  p2pPort: number;
  /** With --latency, the port the node itself listens on behind the proxy. */
  listenPort?: number;
  httpUrl: string;
  ipc: string;
  log: string;
}

export interface DevnetCluster {
  lock: string;
  nodes: DevnetNode[];
  /** Chosen before the beacon node starts: the nodes start first, and are told where it will be. */
  beaconUrl: string;
  beaconPort: number;
}

/**
 * A cluster of the devnet's interop validators in `work` (keys, then one data dir per node), each node on its
 * own free p2p and HTTP ports on 127.0.0.1. pbkdf2 at few rounds: the devnet's keys are public, and EIP-2335's work
 * factors would add minutes of key derivation to every start with thousands of validators.
 */
export async function createDevnetCluster(o: {
  work: string;
  logs: string;
  nodes: number;
  threshold: number;
  validators: number;
  /** Every node listens behind a proxy on the port the lock names (--latency). */
  proxied?: boolean;
}): Promise<DevnetCluster> {
  const ports = await freeLocalPorts(2 * o.nodes + 1 + (o.proxied ? o.nodes : 0));
  const beaconPort = ports[2 * o.nodes] as number;
  const p2p = ports.slice(0, o.nodes);
  const behind = o.proxied ? ports.slice(2 * o.nodes + 1) : [];
  const out = join(o.work, "cluster");
  await createCluster({
    nodes: o.nodes,
    threshold: o.threshold,
    keys: {kind: "interop", start: 0, count: o.validators},
    network: "devnet",
    withdrawalAddress: DEVNET_WITHDRAWAL,
    kdf: "pbkdf2-public",
    out,
    name: "r3dv-devnet",
    operators: p2p.map((p) => `127.0.0.1:${p}`),
  });
  const nodes = p2p.map((p2pPort, k) => {
    const index = k + 1;
    const dataDir = join(o.work, `data-${index}`);
    return {
      index,
      nodeDir: join(out, nodeDirName(index)),
      dataDir,
      p2pPort,
      ...(behind[k] !== undefined ? {listenPort: behind[k]} : {}),
      httpUrl: `http://127.0.0.1:${ports[o.nodes + k] as number}`,
      ipc: join(dataDir, "r3dv.sock"),
      log: join(o.logs, `node-${index}.log`),
    };
  });
  return {lock: join(out, LOCK_FILE), nodes, beaconPort, beaconUrl: `http://127.0.0.1:${beaconPort}`};
}

/**
 * `r3dv run` for one node, the way an operator starts it, by default with block verification enforced: the main
 * job shows the EVM role verifying every block of the devnet, every duty signing only verified heads, and what it
 * costs (a run with `verify` off is the baseline to compare with).
 */
export function runArgs(
  c: DevnetCluster,
  n: DevnetNode,
  o: {logLevel: string; builder?: boolean; verify?: VerifyMode; recoverers?: RecovererMode},
): string[] {
  const verify = o.verify ?? "enforce";
  const http = n.httpUrl.slice("http://".length);
  return [
    "run",
    "--lock",
    c.lock,
    "--node-dir",
    n.nodeDir,
    "--data-dir",
    n.dataDir,
    "--beacon-node",
    c.beaconUrl,
    "--http",
    http,
    "--ipc",
    n.ipc,
    "--log-level",
    o.logLevel,
    "--verify",
    verify,
    // The devnet's own execution layer: each node re-executes every payload on proven state.
    ...(verify === "off" ? [] : ["--execution-rpc", `${c.beaconUrl}/r3dv/v1/execution`]),
    ...(o.builder ? ["--builder", "on"] : []),
    ...(o.recoverers ? ["--recoverers", o.recoverers] : []),
    ...(n.listenPort !== undefined ? ["--p2p-listen", `/ip4/127.0.0.1/tcp/${n.listenPort}`] : []),
  ];
}
