import {type ChaosEvent, DEFAULT_CHAOS, parseChaos} from "./chaos.js";
import {VERIFY_MODES, type VerifyMode} from "../node/config.js";
import {RECOVERER_MODES, type RecovererMode} from "../roles/validator/exchange/recoverers.js";
import {badOption} from "./errors.js";
import {type Latency, parseLatency} from "./linkDelay.js";

/**
 * The devnet's default slot length: a whole number of seconds (the Beacon API's SECONDS_PER_SLOT), short enough
 * for a run of minutes. Not 2: four nodes and the beacon node on 2 cores submitted attestations at p99 657-664 ms
 * against 2 s slots' 667 ms deadline (2026-11-26), so one busy moment failed the run (1 of 2 `npm start` runs; 3 of
 * 3 two-epoch runs missed effectiveness or sync participation); at 4 s the same work has twice the time.
 */
export const DEFAULT_SLOT_SECONDS = 4;
/** Mainnet's slot: longer slots only make a run longer. */
const MAX_SLOT_SECONDS = 12;
/** Four times the 2,500 that carry mainnet's 10,000 validators' attestations per slot on the minimal preset. */
const MAX_VALIDATORS = 10_000;
/** Far above the 235 ms between the farthest regions operators report; more measures nothing useful. */
const MAX_LATENCY_MS = 1000;
/** Minimal preset. */
export const SLOTS_PER_EPOCH = 8;

export interface DevnetRunOptions {
  nodes: number;
  threshold: number;
  validators: number;
  /** Undefined with --forever: run until SIGINT. */
  epochs: number | undefined;
  slotMs: number;
  chaos: ChaosEvent[];
  out: string;
  genesisDelaySec: number;
  keep: boolean;
  /** A builder behind the devnet beacon node, and every node with `--builder on`. */
  builder: boolean;
  /** Every node's `--verify`: enforce by default, off or advisory to see what verification costs and gives. */
  verify: VerifyMode;
  /** Every node's `--recoverers`; absent, the nodes' default (all). */
  recoverers?: RecovererMode;
  logLevel: string;
  /** `--latency`: a delay proxy in front of every node's p2p port, as between operators far apart. */
  latency?: Latency;
}

export interface DevnetRunFlags {
  nodes: string;
  threshold?: string;
  validators: string;
  epochs: string;
  slotSeconds: string;
  /** `--slot-ms`, the same in milliseconds (SLOT_DURATION_MS); given, it replaces --slot-seconds. */
  slotMs?: string;
  forever?: boolean;
  /** False with --no-chaos. */
  chaos: string | false;
  out: string;
  genesisDelay: string;
  keep?: boolean;
  builder?: boolean;
  verify: string;
  recoverers?: string;
  logLevel: string;
  latency?: string;
}

function int(option: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max)
    throw badOption(option, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

/** Checks every flag before anything starts, so a bad one costs nothing and says what to change. */
export function parseRunOptions(f: DevnetRunFlags): DevnetRunOptions {
  // 10 nodes of 64 validators each already take the two cores of a laptop; more would measure the machine.
  const nodes = int("--nodes", f.nodes, 1, 10);
  const threshold = f.threshold === undefined ? Math.ceil((2 * nodes) / 3) : int("--threshold", f.threshold, 1, nodes);
  if (threshold * 2 <= nodes)
    throw badOption(
      "--threshold",
      `${threshold} of ${nodes} is not a majority: two disjoint groups could sign conflicting messages; use at least ${Math.floor(nodes / 2) + 1}`,
    );
  // The devnet's interop genesis: at least one committee member per slot. At most MAX_VALIDATORS, issue 14's
  // scale goal: 2,500 are mainnet's 10,000 (the minimal preset's epoch has 8 slots, mainnet's 32).
  const validators = int("--validators", f.validators, SLOTS_PER_EPOCH, MAX_VALIDATORS);
  const epochs = f.forever ? undefined : int("--epochs", f.epochs, 2, 1000);
  // Below 2 s a node cannot fetch, agree on and sign an attestation before its due time (1/3 slot).
  const slotMs =
    f.slotMs === undefined
      ? int("--slot-seconds", f.slotSeconds, 2, MAX_SLOT_SECONDS) * 1000
      : int("--slot-ms", f.slotMs, 2000, MAX_SLOT_SECONDS * 1000);
  // The Beacon API's SECONDS_PER_SLOT, which validator clients read, is a whole number of seconds.
  if (slotMs % 1000 !== 0) throw badOption("--slot-ms", `expected a whole number of seconds in ms, got ${slotMs}`);
  let chaos: ChaosEvent[] = [];
  if (f.chaos !== false) {
    const isDefault = f.chaos === DEFAULT_CHAOS;
    try {
      chaos = parseChaos(f.chaos, nodes, epochs);
    } catch (e) {
      if (!isDefault) throw e;
      throw badOption(
        "--chaos",
        `the default schedule ${DEFAULT_CHAOS} does not fit ${nodes} node(s) and ${epochs} epoch(s): pass your own --chaos, or --no-chaos`,
      );
    }
  }
  const genesisDelaySec = int("--genesis-delay", f.genesisDelay, 5, 600);
  if (!f.out.trim()) throw badOption("--out", "expected a folder for the report");
  const verify = VERIFY_MODES.find((m) => m === f.verify);
  if (!verify)
    throw badOption("--verify", `expected one of ${VERIFY_MODES.join(", ")}, got ${JSON.stringify(f.verify)}`);
  const recoverers = RECOVERER_MODES.find((m) => m === f.recoverers);
  if (f.recoverers !== undefined && !recoverers)
    throw badOption(
      "--recoverers",
      `expected one of ${RECOVERER_MODES.join(", ")}, got ${JSON.stringify(f.recoverers)}`,
    );
  // A round trip of a second leaves no time for consensus before a 4 s slot's due time; regions are 50-235 ms apart.
  const latency = f.latency === undefined ? undefined : parseLatency(f.latency);
  if (f.latency !== undefined && (!latency || latency.rttMs > MAX_LATENCY_MS))
    throw badOption(
      "--latency",
      `expected RTT or RTT/JITTER in ms, RTT up to ${MAX_LATENCY_MS} and JITTER at most RTT (e.g. 100/20), got ${JSON.stringify(f.latency)}`,
    );
  return {
    nodes,
    threshold,
    validators,
    epochs,
    slotMs,
    chaos,
    out: f.out,
    genesisDelaySec,
    keep: Boolean(f.keep),
    builder: Boolean(f.builder),
    verify,
    ...(recoverers ? {recoverers} : {}),
    logLevel: f.logLevel,
    ...(latency ? {latency} : {}),
  };
}
