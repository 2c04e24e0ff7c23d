import {isIP} from "node:net";
import {join, resolve} from "node:path";
import {multiaddr} from "@multiformats/multiaddr";
import {R3dvError, errorMessage} from "../util/errors.js";
import type {LogLevel} from "../util/logger.js";
import {PEER_RATE_PER_SEC} from "../roles/store/peerBudget.js";
import {redactUrl} from "../roles/validator/beacon/beaconUrl.js";
import {RECOVERER_MODES, type RecovererMode} from "../roles/validator/exchange/recoverers.js";

/** DESIGN.md: the economic limiter's default budget. */
export const DEFAULT_STORAGE_BUDGET = 10 * 2 ** 30;
/** Durable chunks count as replicated once this many peers accepted them: with n=4, m=3, any m-1 peers that survive still hold it. */
export const DEFAULT_REPLICATION = 2;
export const IPC_SOCKET_FILE = "r3dv.sock";

export interface RunOptions {
  lock: string;
  nodeDir: string;
  dataDir: string;
  beaconNodes: string[];
  /** Undefined: derived from this operator's lock address. */
  p2pListen?: string;
  http?: {host: string; port: number};
  ipc: string;
  workers: number;
  logLevel: LogLevel;
  storageBudget: number;
  replication: number;
  /** Per-peer token bucket rate, chunks/s. */
  peerRate: number;
  /** Doppelganger protection before signing (signing/doppelganger.ts); on unless `--doppelganger off`. */
  doppelganger: boolean;
  /** The builder API (registrations, builders' blocks); off unless `--builder on`. */
  builder: boolean;
  /** builder_boost_factor: a builder's bid counts for this percent of its value against a local block. */
  builderBoostFactor: bigint;
  /**
   * The EVM role's block verification (roles/evm): `advisory` verifies every block the beacon nodes announce
   * and reports each verdict (series, metrics, logs, status) without holding back a signature; `off` (the default)
   * runs none.
   */
  verify: VerifyMode;
  /**
   * Execution JSON-RPC endpoints (`--execution-rpc`): the EVM role re-executes each payload with the first one's
   * proofs; none: payloads are taken as given.
   */
  executionRpc: string[];
  /** Which nodes recover and submit each attestation (exchange/recoverers.ts): every node (the default), or n - t + 1. */
  recoverers: RecovererMode;
}

export const VERIFY_MODES = ["enforce", "advisory", "off"] as const;
export type VerifyMode = (typeof VERIFY_MODES)[number];

export type ConfigErrorType = {code: "CONFIG_BAD_FLAG"; flag: string; env: string; reason: string};
export class ConfigError extends R3dvError<ConfigErrorType> {}

/** Flags and their R3DV_* environment variables (commander reads the variable when the flag is absent). */
export const RUN_FLAGS = {
  lock: "R3DV_LOCK",
  nodeDir: "R3DV_NODE_DIR",
  dataDir: "R3DV_DATA_DIR",
  beaconNode: "R3DV_BEACON_NODE",
  p2pListen: "R3DV_P2P_LISTEN",
  http: "R3DV_HTTP",
  ipc: "R3DV_IPC",
  workers: "R3DV_WORKERS",
  logLevel: "R3DV_LOG_LEVEL",
  storageBudget: "R3DV_STORAGE_BUDGET",
  replication: "R3DV_REPLICATION",
  peerRate: "R3DV_PEER_RATE",
  doppelganger: "R3DV_DOPPELGANGER",
  builder: "R3DV_BUILDER",
  builderBoostFactor: "R3DV_BUILDER_BOOST_FACTOR",
  verify: "R3DV_VERIFY",
  executionRpc: "R3DV_EXECUTION_RPC",
  recoverers: "R3DV_RECOVERERS",
} as const;

const FLAG_NAMES: Record<keyof typeof RUN_FLAGS, string> = {
  lock: "--lock",
  nodeDir: "--node-dir",
  dataDir: "--data-dir",
  beaconNode: "--beacon-node",
  p2pListen: "--p2p-listen",
  http: "--http",
  ipc: "--ipc",
  workers: "--workers",
  logLevel: "--log-level",
  storageBudget: "--storage-budget",
  replication: "--replication",
  peerRate: "--peer-rate",
  doppelganger: "--doppelganger",
  builder: "--builder",
  builderBoostFactor: "--builder-boost-factor",
  verify: "--verify",
  executionRpc: "--execution-rpc",
  recoverers: "--recoverers",
};

function bad(key: keyof typeof RUN_FLAGS, reason: string): ConfigError {
  const flag = FLAG_NAMES[key];
  return new ConfigError(
    {code: "CONFIG_BAD_FLAG", flag, env: RUN_FLAGS[key], reason},
    `${flag} (or ${RUN_FLAGS[key]}): ${reason}`,
  );
}

export type RawRunFlags = Partial<Record<keyof typeof RUN_FLAGS, string>>;

const LOG_LEVELS: LogLevel[] = ["error", "warn", "info", "debug"];

function positiveInt(key: keyof typeof RUN_FLAGS, v: string, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max)
    throw bad(key, `expected an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

/** Byte sizes as plain integers or with a binary suffix (K, M, G, T), e.g. 10G. */
export function parseBytes(v: string): number | undefined {
  const m = /^(\d+)([KMGT]i?B?)?$/i.exec(v.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? "").charAt(0).toUpperCase();
  const mult = {"": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40}[unit] ?? 1;
  return Number(m[1]) * mult;
}

/** Checks every flag before anything starts; each error names the flag, its variable, and what is expected. */
export function resolveRunOptions(raw: RawRunFlags): RunOptions {
  for (const key of ["lock", "nodeDir", "dataDir", "beaconNode"] as const) {
    if (!raw[key]) throw bad(key, "is required");
  }
  const beaconNodes = httpUrls("beaconNode", raw.beaconNode as string);
  const twice = beaconNodes.find((u, i) => beaconNodes.indexOf(u) !== i);
  if (twice !== undefined)
    throw bad(
      "beaconNode",
      `${redactUrl(twice)} is listed twice; list each beacon node once (submissions go to every one)`,
    );
  if (beaconNodes.length === 0) throw bad("beaconNode", "expected at least one URL");
  let p2pListen: string | undefined;
  if (raw.p2pListen) {
    try {
      const c = multiaddr(raw.p2pListen).getComponents();
      if (!c.some((x) => x.name === "tcp")) throw new Error("no /tcp/ component");
    } catch (e) {
      throw bad(
        "p2pListen",
        `${JSON.stringify(raw.p2pListen)} is not a TCP multiaddr like /ip4/127.0.0.1/tcp/9001 (${errorMessage(e)})`,
      );
    }
    p2pListen = raw.p2pListen;
  }
  let http: RunOptions["http"];
  if (raw.http) {
    const m = /^(.+):(\d{1,5})$/.exec(raw.http);
    const port = m ? Number(m[2]) : NaN;
    if (!m || isIP(m[1] as string) === 0 || port > 65535)
      throw bad("http", `${JSON.stringify(raw.http)} is not IP:PORT (e.g. 127.0.0.1:8551; port 0 picks a free one)`);
    http = {host: m[1] as string, port};
  }
  const workers = raw.workers ? positiveInt("workers", raw.workers, 64) : 1;
  const logLevel = (raw.logLevel ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    throw bad("logLevel", `expected one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(raw.logLevel)}`);
  let storageBudget = DEFAULT_STORAGE_BUDGET;
  if (raw.storageBudget) {
    const b = parseBytes(raw.storageBudget);
    if (b === undefined || b < 1)
      throw bad(
        "storageBudget",
        `expected a size in bytes like 10G or 500000, got ${JSON.stringify(raw.storageBudget)}`,
      );
    storageBudget = b;
  }
  const replication = raw.replication ? positiveInt("replication", raw.replication, 255) : DEFAULT_REPLICATION;
  const peerRate = raw.peerRate ? positiveInt("peerRate", raw.peerRate, 10_000_000) : PEER_RATE_PER_SEC;
  const dataDir = resolve(raw.dataDir as string);
  return {
    lock: resolve(raw.lock as string),
    nodeDir: resolve(raw.nodeDir as string),
    dataDir,
    beaconNodes,
    p2pListen,
    http,
    ipc: raw.ipc ? resolve(raw.ipc) : join(dataDir, IPC_SOCKET_FILE),
    workers,
    logLevel,
    storageBudget,
    replication,
    peerRate,
    doppelganger: onOff("doppelganger", raw.doppelganger, true),
    builder: onOff("builder", raw.builder, false),
    builderBoostFactor: boostFactor(raw.builderBoostFactor),
    // Off unless asked for: verifying, each node keeps a state and runs a state transition per block (tens of ms
    // and ~100 MB on the devnet; a mainnet state is gigabytes and its cost is not measured yet), which an operator
    // should choose knowingly. `enforce` signs only for heads this node verified; `advisory` verifies and reports
    // only. `r3dv devnet` runs enforce.
    verify: oneOf("verify", raw.verify, VERIFY_MODES, "off"),
    executionRpc: raw.executionRpc ? httpUrls("executionRpc", raw.executionRpc) : [],
    // `all` by default: a small cluster's recovery is cheap and every node submitting is the most redundancy;
    // `designated` halves a 3-of-4 node's recoveries, what thousands of validators on small machines need.
    recoverers: oneOf("recoverers", raw.recoverers, RECOVERER_MODES, "all"),
  };
}

/** A flag naming one of `modes` (case and surrounding spaces ignored), `fallback` when absent. */
function oneOf<M extends string>(
  key: keyof typeof RUN_FLAGS,
  raw: string | undefined,
  modes: readonly M[],
  fallback: M,
): M {
  if (raw === undefined) return fallback;
  const v = raw.trim().toLowerCase();
  if (!(modes as readonly string[]).includes(v))
    throw bad(key, `expected ${modes.join(" or ")}, got ${JSON.stringify(raw)}`);
  return v as M;
}

/** A comma-separated list of http(s) URLs, each checked, with what is wrong said for the first that is not. */
function httpUrls(key: "beaconNode" | "executionRpc", list: string): string[] {
  const urls = list
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean);
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw bad(key, `${JSON.stringify(u)} is not a URL; expected http(s)://host:port`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw bad(key, `${redactUrl(u)}: expected an http or https URL`);
  }
  return urls;
}

/**
 * The Beacon API's builder_boost_factor: 100 (the default) compares a builder's bid with the local block at face
 * value, 0 always builds locally, 90 asks a builder to pay 11% more than the local block to win.
 */
const DEFAULT_BUILDER_BOOST_FACTOR = 100n;

function boostFactor(raw: string | undefined): bigint {
  if (raw === undefined) return DEFAULT_BUILDER_BOOST_FACTOR;
  if (!/^\s*\d{1,19}\s*$/.test(raw))
    throw bad(
      "builderBoostFactor",
      `expected a whole percent like 100 (0 builds every block locally), got ${JSON.stringify(raw)}`,
    );
  return BigInt(raw.trim());
}

function onOff(key: keyof typeof RUN_FLAGS, raw: string | undefined, byDefault: boolean): boolean {
  if (raw === undefined) return byDefault;
  const v = raw.trim().toLowerCase();
  if (v !== "on" && v !== "off") throw bad(key, `expected on or off, got ${JSON.stringify(raw)}`);
  return v === "on";
}
