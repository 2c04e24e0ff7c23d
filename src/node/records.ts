import type {Metrics} from "../api/metrics.js";
import type {AnyDutyResult} from "../roles/validator/validatorRole.js";
import type {InclusionResult} from "../roles/validator/tracking/inclusionChecker.js";
import type {ChainFollowerEvents} from "../roles/evm/chainFollower.js";
import type {BlockVerdict} from "../roles/evm/verdict.js";
import type {ViewSharingEvents} from "../roles/evm/viewSharing.js";
import type {BeaconSetEvents} from "../roles/validator/beacon/beaconSet.js";
import {CHUNK_ENTRY_TYPES, type Entry, jsonBody} from "../storage/entry.js";
import {CHUNK_KINDS, type ChunkKind, decodeChunk, readStoredChunkHeader} from "../hotpath/chunk.js";
import {decodePartialSigs} from "../roles/validator/exchange/partialSigs.js";
import type {DoppelgangerStatus} from "../roles/validator/signing/doppelganger.js";
import type {Series} from "../storage/series.js";
import type {Logger} from "../util/logger.js";

/** Where an outcome an operator wants to see goes: a metric, a series entry, and a log line when it is bad. */
export interface RecordTarget {
  readonly metrics: Metrics;
  readonly series: Series;
  readonly logger: Logger;
}

/** Every duty outcome is a series entry (`r3dv series --kind duty_result`) and a metric. */
export function recordDuty(r: AnyDutyResult, {metrics, series, logger}: RecordTarget): void {
  metrics.dutyResults.inc({duty: r.duty, status: r.status, reason: r.reason ?? ""});
  if ("stages" in r)
    for (const [stage, ms] of Object.entries(r.stages ?? {}))
      if (typeof ms === "number") metrics.dutyStageSeconds.observe({duty: r.duty, stage}, ms / 1000);
  if (r.duty === "proposer")
    for (const stage of r.overBudget ?? []) metrics.proposalStagesOverBudget.inc({stage, path: r.path ?? "local"});
  if ((r.duty === "attester" || r.duty === "sync_message") && r.headReplaced) {
    metrics.headsReplaced.inc({duty: r.duty, reason: r.headReplaced.reason});
    logger.debug("voted for a verified head instead of the beacon node's", {
      duty: r.duty,
      slot: r.slot,
      validator: r.validatorIndex,
      ...r.headReplaced,
    });
  }
  void series
    .append("duty_result", jsonBody(r), "batched", r.slot)
    .catch((e: unknown) => logger.error("duty result not recorded", {duty: r.duty, slot: r.slot}, e));
  if (r.status === "failed")
    logger.warn("duty failed", {
      duty: r.duty,
      slot: r.slot,
      validator: r.validatorIndex,
      reason: r.reason,
      detail: r.detail,
    });
}

/** What the chain says about a submitted attestation: a series entry beside the duty's result, and metrics. */
export function recordInclusion(r: InclusionResult, {metrics, series, logger}: RecordTarget): void {
  const outcome = r.error ? "unknown" : !r.included ? "missed" : r.correctTarget ? "included" : "wrong_target";
  metrics.inclusions.inc({outcome});
  if (r.delay !== undefined) metrics.inclusionDelay.observe(r.delay);
  void series
    .append("duty_inclusion", jsonBody(r), "batched", r.slot)
    .catch((e: unknown) => logger.error("inclusion not recorded", {slot: r.slot}, e));
  if (outcome === "missed" || outcome === "wrong_target")
    logger.warn("attestation not included as signed", {slot: r.slot, validator: r.validatorIndex, outcome});
}

/**
 * Beacon node health is a metric per node, a log line and a series entry on each change; every request a
 * metric. Failed requests log at debug: a benching says the same once, at warn.
 */
export function beaconEvents({metrics, series, logger}: RecordTarget): BeaconSetEvents {
  return {
    request: (beacon, kind, result, seconds, route, error) => {
      metrics.beaconRequests.inc({beacon, kind, result});
      metrics.beaconRequestSeconds.observe({beacon, kind}, seconds);
      if (error) logger.debug("beacon node request failed", {beacon, kind, result, route}, error);
    },
    health: (status, previous) => {
      metrics.beaconHealthy.set({beacon: status.url}, status.health === "healthy" ? 1 : 0);
      if (status.health === "benched") {
        metrics.beaconBenched.inc({beacon: status.url, reason: status.reason ?? ""});
        logger.warn("beacon node benched", {
          beacon: status.url,
          reason: status.reason,
          failures: status.failures,
          retryInMs: status.retryInMs,
          error: status.lastError,
        });
      } else {
        logger.info("beacon node healthy", {beacon: status.url, previous, latencyMs: status.latencyMs});
      }
      void series
        .append("beacon_health", jsonBody({...status, previous}), "batched")
        .catch((e: unknown) => logger.error("beacon health not recorded", {beacon: status.url}, e));
    },
  };
}

/**
 * Each block verdict of the EVM role is a metric and a log line: info when verified (one a slot), warn when
 * invalid (the chain the beacon node follows has a block this node refuses), debug when it could not check; and,
 * given a series, a `block_verdict` entry (`r3dv series --kind block_verdict`); `share` hands it to the peers
 * (an `eth_block` chunk, viewSharing.ts).
 */
export function verdictEvents({
  metrics,
  logger,
  series,
  share,
}: Pick<RecordTarget, "metrics" | "logger"> & {
  series?: Series;
  share?: (v: BlockVerdict) => void;
}): ChainFollowerEvents {
  return {
    verdict: (v) => {
      share?.(v);
      void series
        ?.append("block_verdict", jsonBody(v), "batched", v.slot)
        .catch((e: unknown) => logger.error("block verdict not recorded", {root: v.root}, e));
      metrics.blockVerdicts.inc({status: v.status, reason: v.status === "verified" ? "" : v.reason});
      const timings = v.status === "unavailable" ? undefined : v.timings;
      if (timings)
        for (const [stage, ms] of Object.entries(timings))
          metrics.blockVerifySeconds.observe({stage: stage.replace(/Ms$/, "")}, ms / 1000);
      const context = {slot: v.slot, root: v.root, parentRoot: v.parentRoot, totalMs: timings?.totalMs};
      if (v.status === "verified") logger.info("block verified", {...context, stateRoot: v.stateRoot});
      else if (v.status === "invalid") logger.warn("block invalid", {...context, reason: v.reason, detail: v.detail});
      else logger.debug("block not verified", {...context, reason: v.reason, detail: v.detail});
    },
    bootstrap: (anchor, seconds) => {
      metrics.evmBootstraps.inc();
      logger.info("verification state bootstrapped", {...anchor, seconds});
    },
  };
}

/**
 * Block views shared with peers (viewSharing.ts): each a metric; a peer's malformed view a warning; a peer
 * contradicting this node's verdict a warning and a `block_view_contradiction` entry, since one of the two
 * runs a buggy client or lies, and an operator must find out which.
 */
export function blockViewEvents({metrics, series, logger}: RecordTarget): ViewSharingEvents {
  return {
    sent: (v) => metrics.blockViews.inc({direction: "sent", verdict: v.verdict}),
    notSent: (v) => {
      metrics.blockViews.inc({direction: "not_sent", verdict: v.verdict});
      logger.debug("block view not shared: the slot's allowance is spent", {slot: v.slot, root: v.root});
    },
    received: (_origin, v) => metrics.blockViews.inc({direction: "received", verdict: v.verdict}),
    malformed: (peer, slot, reason) => {
      metrics.blockViews.inc({direction: "malformed", verdict: ""});
      logger.warn("peer's block view refused: not a block view", {peer, slot, reason});
    },
    contradiction: (c) => {
      metrics.blockViewContradictions.inc({peer: String(c.peer)});
      logger.warn("a peer's verdict on a block contradicts this node's", {...c});
      void series
        .append("block_view_contradiction", jsonBody(c), "batched", c.slot)
        .catch((e: unknown) => logger.error("contradiction not recorded", {root: c.root}, e));
    },
  };
}

/**
 * Every chunk of `kind` the series holds (sent, accepted or fetched), oldest first, with its origin: what a role
 * rebuilds its state from after a restart. A scan of the whole series, so only for rare kinds read once at start.
 */
export function storedChunks(series: Series, kind: ChunkKind): {origin: number; payload: Uint8Array}[] {
  return series
    .tail(Number.MAX_SAFE_INTEGER, (e) => chunkKindOf(e) === kind)
    .map((e) => {
      const c = decodeChunk(e.body.subarray(1));
      return {origin: c.origin, payload: c.payload};
    });
}

/** The chunk kind of a chunk entry (sent, accepted, fetched), read from its header; undefined for other entries. */
export function chunkKindOf(e: Entry): ChunkKind | undefined {
  return CHUNK_ENTRY_TYPES.has(e.type) ? readStoredChunkHeader(e.body.subarray(1)).kind : undefined;
}

/**
 * Who signed for each validator in slots `from..to`: the origin of every partial signature (this node's own sent,
 * its peers' pushed or fetched) in the series' slot index. Doppelganger protection's proof that a validator's
 * liveness is the cluster's own.
 */
export function clusterSignedIn(series: Series): (fromSlot: number, toSlot: number) => Map<string, Set<number>> {
  const kind = CHUNK_KINDS.indexOf("partial_sig");
  return (fromSlot, toSlot) => {
    const out = new Map<string, Set<number>>();
    for (let slot = fromSlot; slot <= toSlot; slot++)
      for (const encoded of series.chunksBySlot(slot, kind)) {
        const chunk = decodeChunk(encoded);
        for (const s of decodePartialSigs(chunk.payload)?.sigs ?? []) {
          let members = out.get(s.pubkey);
          if (!members) out.set(s.pubkey, (members = new Set()));
          members.add(chunk.origin);
        }
      }
    return out;
  };
}

/** Each change of a validator's doppelganger state is a series entry (`r3dv series --kind doppelganger`). */
export function recordDoppelganger(s: DoppelgangerStatus, {series, logger}: RecordTarget): void {
  void series
    .append("doppelganger", jsonBody(s), "batched")
    .catch((e: unknown) => logger.error("doppelganger state not recorded", {validator: s.index ?? s.pubkey}, e));
}
