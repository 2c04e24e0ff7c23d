import type {NodeStatus} from "./status.js";

/**
 * Named health checks (`r3dv health`, `/r3dv/v1/health`, `r3dv_health_check_failing`): what is wrong before duties
 * are missed, and what to do. Each check reads the node's status and its recent duty results; none asks a peer or
 * a beacon node, so a health probe costs nothing.
 */

export type Severity = "critical" | "warning";

export interface HealthCheck {
  name: HealthCheckName;
  /** How bad it is when failing: critical means duties are failing or about to. */
  severity: Severity;
  ok: boolean;
  /** What was measured, failing or not. */
  detail: string;
  /** What to do, when failing. */
  action?: string;
}

export interface HealthReport {
  status: "ok" | Severity;
  checks: HealthCheck[];
}

export const HEALTH_CHECK_NAMES = [
  "beacon_synced",
  "beacon_all_healthy",
  "beacon_latency",
  "peers_quorum",
  "peers_all",
  "peer_clock_offset",
  "attester_duties",
  "proposals",
  "consensus_rounds",
  "limiter_refusals",
  "storage_budget",
  "event_loop",
  "doppelganger",
  "fee_recipient",
  "memory",
  "block_verification",
] as const;
export type HealthCheckName = (typeof HEALTH_CHECK_NAMES)[number];

/**
 * Limits, each with why it has its value:
 * - a beacon node answering its probe slower than 1 s leaves too little of a 4 s attestation window (mainnet);
 * - peer clocks 200 ms apart start each duty 200 ms apart, a twentieth of the attestation window (issue 17's figure);
 * - over 10% of a window's attester duties failing is a cluster problem, not one slow slot;
 * - a quarter of decisions needing a second round means a leader is slow or down most of the time;
 * - the series is compacted past its budget, so at 90% compaction is near;
 * - an event loop whose p99 delay is 200 ms delays every duty step by as much;
 * - a process whose anonymous resident memory grew 512 MiB above its lowest of the last hour is leaking (a node's
 *   working set is its validators' keys and duty state, steady after its first epochs; 512 MiB is well above a
 *   start's growth at 1,000 validators). The series' mapped pages are left out (residentMemory.ts): they grow with
 *   the series and the kernel reclaims them;
 * - block verification more than 4 slots behind the clock has fallen behind its beacon node (a run of 4 empty slots
 *   is rare on mainnet; fewer are normal and must not alarm), and with `--verify enforce` every duty then votes for
 *   an old block or fails.
 */
export const HEALTH_LIMITS = {
  beaconLatencyMs: 1000,
  clockOffsetMs: 200,
  attesterFailedShare: 0.1,
  secondRoundShare: 0.25,
  storageShare: 0.9,
  eventLoopP99Ms: 200,
  memoryGrowthBytes: 512 * 2 ** 20,
  verificationLagSlots: 4,
} as const;

/** Duty results of the last epochs, as the health checks count them. */
export interface DutyCounts {
  attester: {total: number; failed: number; reasons: Record<string, number>};
  proposer: {total: number; failed: number; reasons: Record<string, number>};
  /** Duties decided by consensus, and how many of them took more than one round. */
  decided: number;
  laterRound: number;
}

/** Chunks refused by the limiters, now and one window ago. */
export interface RefusalCounts {
  now: number;
  windowAgo: number;
}

/** What the process measured over time: blocks refused for their fee recipient in the window, anonymous resident memory. */
export interface ProcessTrends {
  feeRecipientMismatches: number;
  /** Anonymous resident memory (residentMemory.ts): the series' mapped pages left out. */
  anonResidentBytes: number;
  /** Its lowest of the last hour. */
  anonResidentLowestBytes: number;
}

const STEADY: ProcessTrends = {feeRecipientMismatches: 0, anonResidentBytes: 0, anonResidentLowestBytes: 0};

export function healthReport(
  s: NodeStatus,
  duties: DutyCounts,
  refusals: RefusalCounts,
  trends: ProcessTrends = STEADY,
): HealthReport {
  const checks: HealthCheck[] = [];
  const check = (name: HealthCheckName, severity: Severity, ok: boolean, detail: string, action: string) =>
    checks.push({name, severity, ok, detail, ...(ok ? {} : {action})});

  const healthy = s.beacons.filter((b) => b.health === "healthy");
  check(
    "beacon_synced",
    "critical",
    s.ready.beaconSynced,
    s.ready.beaconSynced
      ? `${healthy.length} of ${s.beacons.length} beacon node(s) healthy and synced`
      : `no beacon node is synced: ${s.beacons.map((b) => `${b.url} ${b.health}${b.reason ? ` (${b.reason})` : ""}`).join(", ")}`,
    "check each beacon node's sync and reachability (r3dv status lists them); no duty can run without one",
  );
  const benched = s.beacons.filter((b) => b.health !== "healthy");
  check(
    "beacon_all_healthy",
    "warning",
    benched.length === 0,
    benched.length === 0
      ? "every beacon node healthy"
      : `${benched.map((b) => `${b.url} ${b.health}${b.reason ? ` (${b.reason})` : ""}`).join(", ")}`,
    "the node fails over to its other beacon nodes; fix or replace the benched one before it is the last",
  );
  const best = Math.min(...healthy.map((b) => b.latencyMs ?? Number.POSITIVE_INFINITY));
  check(
    "beacon_latency",
    "warning",
    healthy.length === 0 || best <= HEALTH_LIMITS.beaconLatencyMs,
    healthy.length === 0 ? "no healthy beacon node to measure" : `fastest healthy beacon node ${Math.round(best)} ms`,
    `a beacon node slower than ${HEALTH_LIMITS.beaconLatencyMs} ms eats the attestation window: move it closer or give it more resources`,
  );

  const down = s.peers.filter((p) => !p.connected).map((p) => p.operator);
  check(
    "peers_quorum",
    "critical",
    s.ready.peersConnected >= s.ready.peersNeeded,
    `${s.ready.peersConnected} peer(s) connected, ${s.ready.peersNeeded} needed to sign`,
    `operators ${down.join(", ")} are unreachable: r3dv peers says which, and their lock address and port must be open`,
  );
  check(
    "peers_all",
    "warning",
    down.length === 0,
    down.length === 0 ? `all ${s.peers.length} peers connected` : `operator(s) ${down.join(", ")} not connected`,
    "the cluster signs without them, with less room for another failure: ask their operators",
  );
  const skewed = s.peers.filter(
    (p) => p.connected && p.clockOffsetMs !== undefined && Math.abs(p.clockOffsetMs) > HEALTH_LIMITS.clockOffsetMs,
  );
  check(
    "peer_clock_offset",
    "warning",
    skewed.length === 0,
    skewed.length === 0
      ? `every connected peer's clock within ${HEALTH_LIMITS.clockOffsetMs} ms`
      : skewed.map((p) => `operator ${p.operator} ${Math.round(p.clockOffsetMs as number)} ms off`).join(", "),
    "check NTP on both machines (timedatectl): nodes must start each duty at the same moment",
  );

  const a = duties.attester;
  check(
    "attester_duties",
    "critical",
    a.total === 0 || a.failed <= a.total * HEALTH_LIMITS.attesterFailedShare,
    `${a.failed} of ${a.total} attester duties failed in the last epochs${reasons(a.reasons)}`,
    "r3dv duty SLOT on a failed slot names the reason and the missing nodes",
  );
  const p = duties.proposer;
  check(
    "proposals",
    "critical",
    p.failed === 0,
    `${p.failed} of ${p.total} proposals failed in the last epochs${reasons(p.reasons)}`,
    "r3dv duty SLOT for the proposal's slot shows each stage's time and the reason",
  );
  check(
    "consensus_rounds",
    "warning",
    duties.decided === 0 || duties.laterRound <= duties.decided * HEALTH_LIMITS.secondRoundShare,
    `${duties.laterRound} of ${duties.decided} decisions needed more than one round in the last epochs`,
    "a leader is slow or down: look for a node with few peers, a lagging event loop or a slow beacon node",
  );
  const refused = refusals.now - refusals.windowAgo;
  check(
    "limiter_refusals",
    "warning",
    refused === 0,
    `${refused} chunk(s) refused by the limiters in the last epochs (${refusals.now} since start)`,
    "r3dv limiters and r3dv peers say which member sends what: a flooding or lying member needs its operator",
  );
  const used = s.series.budget > 0 ? s.series.bytes / s.series.budget : 0;
  check(
    "storage_budget",
    "warning",
    used <= HEALTH_LIMITS.storageShare,
    `series ${s.series.bytes} of ${s.series.budget} bytes (${Math.round(used * 100)}%)`,
    "compaction runs past the budget: raise --storage-budget if the disk allows, or look for a flood",
  );
  check(
    "event_loop",
    "warning",
    s.eventLoopDelayP99Ms <= HEALTH_LIMITS.eventLoopP99Ms,
    `event loop delay p99 ${Math.round(s.eventLoopDelayP99Ms)} ms`,
    "the machine is short of CPU for its validators: give it more cores or fewer validators",
  );

  const d = s.doppelganger.counts;
  const elsewhere = s.doppelganger.notSigning.filter((v) => v.state === "live_elsewhere");
  check(
    "doppelganger",
    "critical",
    d.live_elsewhere === 0,
    d.live_elsewhere === 0
      ? `no validator seen signing elsewhere (${d.checking} still checked)`
      : `${d.live_elsewhere} validator(s) live elsewhere, not signed for: ${elsewhere.map((v) => v.index ?? v.pubkey).join(", ")}`,
    "another signer holds these keys (a solo client not stopped, or a second cluster): stop it before it is slashed, wait two epochs, then restart this node",
  );

  check(
    "fee_recipient",
    "warning",
    trends.feeRecipientMismatches === 0,
    `${trends.feeRecipientMismatches} proposed block(s) in the last epochs paid another fee recipient than the lock's, and were refused`,
    "a beacon node builds blocks for another address: check its fee recipient settings (r3dv tells it the lock's every epoch) or replace it",
  );
  const MiB = 2 ** 20;
  check(
    "memory",
    "warning",
    trends.anonResidentBytes - trends.anonResidentLowestBytes <= HEALTH_LIMITS.memoryGrowthBytes,
    `anonymous resident memory ${Math.round(trends.anonResidentBytes / MiB)} MiB, lowest in the last hour ${Math.round(trends.anonResidentLowestBytes / MiB)} MiB`,
    "memory keeps growing: restart the node in a quiet moment (one node at a time) and report it with its metrics",
  );

  const v = s.verification;
  const lag = s.slot !== undefined && v.lastVerifiedSlot !== undefined ? s.slot - v.lastVerifiedSlot : undefined;
  check(
    "block_verification",
    v.mode === "enforce" ? "critical" : "warning",
    v.mode === "off" || (lag !== undefined && lag <= HEALTH_LIMITS.verificationLagSlots),
    v.mode === "off"
      ? "block verification off"
      : lag === undefined
        ? `block verification ${v.mode}: no block verified yet${v.anchorSlot === undefined ? " (no anchor state)" : ""}`
        : `block verification ${v.mode}: newest verified block ${lag} slot(s) behind the clock`,
    v.mode === "enforce"
      ? "duties sign only verified heads and now vote for old blocks or fail: check the beacon nodes (they serve the blocks and the anchor state) and the machine's CPU; --verify advisory keeps signing while you look"
      : "verification lags its beacon nodes: check them and the machine's CPU",
  );

  const failing = checks.filter((c) => !c.ok);
  const status = failing.some((c) => c.severity === "critical") ? "critical" : failing.length > 0 ? "warning" : "ok";
  return {status, checks};
}

function reasons(r: Record<string, number>): string {
  const list = Object.entries(r).map(([k, n]) => `${k} ${n}`);
  return list.length > 0 ? ` (${list.join(", ")})` : "";
}

/**
 * The last few epochs' duty results, counted by slot as they are recorded, for the health checks. Two epochs: long
 * enough that one bad slot is not a trend, short enough that a fixed problem clears within minutes on mainnet.
 */
export const HEALTH_WINDOW_SLOTS = 64;

/**
 * A total that only grows (refusals, mismatches since start), sampled by slot: what it was at the window's start,
 * so a check can count what happened within the window.
 */
export class WindowedTotal {
  private readonly bySlot = new Map<number, number>();

  /** Records `total` at `slot`; returns the lowest total recorded within the window (the window's start). */
  record(slot: number, total: number): number {
    this.bySlot.set(slot, total);
    let windowAgo = total;
    for (const [s, n] of this.bySlot) {
      if (s < slot - HEALTH_WINDOW_SLOTS) this.bySlot.delete(s);
      else windowAgo = Math.min(windowAgo, n);
    }
    return windowAgo;
  }
}

export class DutyWindow {
  private readonly bySlot = new Map<number, DutyCounts>();

  record(r: {duty: string; slot: number; status: string; reason?: string; round?: number}): void {
    let c = this.bySlot.get(r.slot);
    if (!c) this.bySlot.set(r.slot, (c = emptyCounts()));
    if (r.duty === "attester" || r.duty === "proposer") {
      const d = c[r.duty];
      d.total++;
      if (r.status === "failed") {
        d.failed++;
        d.reasons[r.reason ?? "unknown"] = (d.reasons[r.reason ?? "unknown"] ?? 0) + 1;
      }
    }
    if (r.round !== undefined) {
      c.decided++;
      if (r.round > 1) c.laterRound++;
    }
  }

  /** The counts of the window that ends at `slot`; older slots are forgotten. */
  counts(slot: number): DutyCounts {
    const out = emptyCounts();
    for (const [s, c] of this.bySlot) {
      if (s <= slot - HEALTH_WINDOW_SLOTS) {
        this.bySlot.delete(s);
        continue;
      }
      for (const k of ["attester", "proposer"] as const) {
        out[k].total += c[k].total;
        out[k].failed += c[k].failed;
        for (const [reason, n] of Object.entries(c[k].reasons))
          out[k].reasons[reason] = (out[k].reasons[reason] ?? 0) + n;
      }
      out.decided += c.decided;
      out.laterRound += c.laterRound;
    }
    return out;
  }
}

function emptyCounts(): DutyCounts {
  return {
    attester: {total: 0, failed: 0, reasons: {}},
    proposer: {total: 0, failed: 0, reasons: {}},
    decided: 0,
    laterRound: 0,
  };
}
