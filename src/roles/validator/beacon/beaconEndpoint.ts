import {type BeaconTarget, beaconTarget} from "./beaconUrl.js";
import type {BeaconError} from "./errors.js";
import {ItemsRefusedError, isAlreadyKnown} from "./submitFailures.js";

export type BeaconHealth = "unknown" | "healthy" | "benched";
/** Why a node is benched: it did not answer, it is syncing (503, or is_syncing), or it answered garbage or 5xx. */
export type BenchReason = "unreachable" | "syncing" | "bad_response";
/** A request's outcome per node: answered, refused by the node (4xx, not its fault), or one of the bench reasons. */
export type RequestResult = "ok" | "already_known" | "refused" | BenchReason;
export type RequestKind = "read" | "submit" | "probe";

export interface BeaconEndpointStatus {
  /** 1-based position in --beacon-node. */
  index: number;
  /** The redacted URL (no credentials, path or query). */
  url: string;
  health: BeaconHealth;
  reason?: BenchReason;
  /** Consecutive failed checks (benches and failed probes), syncing ones included. */
  failures: number;
  /** When benched: how long until the next probe. */
  retryInMs?: number;
  /** Moving average of the health probe's round trip. */
  latencyMs?: number;
  headSlot?: number;
  syncDistance?: number;
  lastError?: string;
}

/** One beacon node of the set: where to reach it and what the set knows about its health. */
export class BeaconEndpoint implements BeaconTarget {
  readonly url: string;
  readonly label: string;
  readonly headers: Record<string, string>;
  health: BeaconHealth = "unknown";
  reason: BenchReason | undefined;
  failures = 0;
  /** Consecutive failures that were not syncing: the bench doubles with each (a syncing node answers, so costs nothing to probe). */
  strikes = 0;
  benchedUntil = 0;
  healthySince = 0;
  latencyMs: number | undefined;
  headSlot: number | undefined;
  syncDistance: number | undefined;
  lastError: string | undefined;
  probing = false;

  constructor(
    readonly index: number,
    raw: string,
    label?: string,
  ) {
    const t = beaconTarget(raw);
    this.url = t.url;
    this.label = label ?? t.label;
    this.headers = t.headers;
  }

  status(now = Date.now()): BeaconEndpointStatus {
    return {
      index: this.index,
      url: this.label,
      health: this.health,
      reason: this.reason,
      failures: this.failures,
      retryInMs: this.health === "benched" ? Math.max(0, this.benchedUntil - now) : undefined,
      latencyMs: this.latencyMs === undefined ? undefined : Math.round(this.latencyMs * 10) / 10,
      headSlot: this.headSlot,
      syncDistance: this.syncDistance,
      lastError: this.lastError,
    };
  }
}

/** What a failed request says about the node that answered it. */
export function classify(e: BeaconError): RequestResult {
  const t = e.type;
  if (t.code === "BEACON_UNREACHABLE") return "unreachable";
  const status = "status" in t ? t.status : undefined;
  if (status === 503) return "syncing";
  // A batch refused item by item was already known only if every refused item was.
  if (e instanceof ItemsRefusedError)
    return e.failures.every((f) => isAlreadyKnown(f.message)) ? "already_known" : "refused";
  // Checked before the status: Lodestar 1.5.1 answers a block its gossip already saw with HTTP 500
  // `PublishError.Duplicate`, which says the block is on the network, not that the node is failing.
  if (isAlreadyKnown("reason" in t ? t.reason : "")) return "already_known";
  if (t.code === "BEACON_REFUSED" || (status !== undefined && status >= 400 && status < 500)) return "refused";
  return "bad_response";
}

/** When every node failed: a refusal (the node looked at the request and said no) explains more than a dead node. */
export function mostTelling(errors: BeaconError[]): BeaconError {
  return errors.find((e) => e.code === "BEACON_REFUSED") ?? (errors[0] as BeaconError);
}
