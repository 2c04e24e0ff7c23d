import type {ChaosEvent} from "./chaos.js";
import type {DutyRecord, SlotSample} from "./observer.js";
import type {SlashingAudit} from "./slashingAudit.js";

/** The share of attestations that must be included with the right target for a run to pass (the issue's bar). */
export const EFFECTIVENESS_TARGET = 0.99;

/** What the devnet's /r3dv/v1/effectiveness answers (the fields read here). */
export interface EffectivenessAnswer {
  finalized: {epoch: number};
  current_justified: {epoch: number};
  epochs: {
    epoch: number;
    validators: {index: number; duty: {slot: number}; included: boolean; correct_target: boolean; inclusion_delay: number | null}[];
    proposals: {slot: number; proposed: boolean; due: boolean}[];
    missed_proposals: number[];
    sync_committee: {blocks: number; bits_set: number; participation: number | null};
    aggregates: {accepted: number; included: number};
  }[];
}

/** A chaos event as it happened. */
export interface FaultRecord {
  event: ChaosEvent;
  slot: number;
  /** ms since the epoch. */
  at: number;
  pid?: number;
  error?: string;
  /** How the restart was run (its CPU priority while it derived its keys). */
  note?: string;
}

export interface RunFacts {
  nodes: number;
  threshold: number;
  validators: number;
  epochs: number;
  slotMs: number;
  slotsPerEpoch: number;
  genesisTime: number;
  startedAt: number;
  readyAt?: number;
  endedAt: number;
  effectiveness: EffectivenessAnswer;
  samples: SlotSample[];
  duties: DutyRecord[];
  faults: FaultRecord[];
  /** Processes that ended without being told to (not chaos, not the end of the run). */
  crashes: {node: number; slot: number; exit: string}[];
  slashing: SlashingAudit;
}

export interface EpochLine {
  epoch: number;
  duties: number;
  good: number;
  meanInclusionDelay: number | null;
  proposed: number;
  missed: number[];
  /** Share of sync committee bits set in the epoch's blocks (null: no block). */
  syncParticipation: number | null;
  aggregatesAccepted: number;
  aggregatesIncluded: number;
}

export interface FailureGroup {
  duty: string;
  reason: string;
  count: number;
  slots: [number, number];
  reportedBy: number[];
  missing: number[];
  /** The fewest nodes up at any slot of these failures (from the samples), to read `reason` against the threshold. */
  minNodesUp: number;
}

export interface FaultLine extends FaultRecord {
  /** kill: until the next start of this node (or the run's end). start: from here on. */
  untilSlot: number;
  failedDuties: number;
  reasons: Record<string, number>;
  missedOnChain: number;
  /** start: slot of the first duty this node submitted again, and seconds from the start to it. */
  recoveredSlot?: number;
  recoveredAfterSec?: number;
}

export interface Report {
  facts: RunFacts;
  epochs: EpochLine[];
  effectiveness: number;
  attestationDuties: number;
  attestationsGood: number;
  meanInclusionDelay: number | null;
  proposed: number;
  missedProposals: number[];
  /** Over the run's blocks: sync committee bits set over bits there were. */
  syncParticipation: number | null;
  aggregatesAccepted: number;
  aggregatesIncluded: number;
  finalizedAtStart: number;
  finalizedAtEnd: number;
  justifiedAtEnd: number;
  latency: {count: number; p50: number; p99: number; deadlineMs: number; overDeadline: number; consensusP50: number; consensusP99: number};
  /** Per slot: the cluster's attester duties submitted (by any node) and failed (by every node that reported). */
  timeline: {slot: number; submitted: number; failed: number; p50: number | null}[];
  outcomes: {duty: string; status: string; reason: string; perNode: Record<number, number>}[];
  failures: FailureGroup[];
  faults: FaultLine[];
  refusals: {node: number; limiter: string; count: number}[];
  series: {node: number; entries: number; bytes: number}[];
  targets: {name: string; met: boolean; detail: string}[];
  passed: boolean;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

function lastUp(samples: SlotSample[], node: number) {
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = (samples[i] as SlotSample).nodes.find((x) => x.node === node);
    if (s?.up) return s;
  }
  return undefined;
}

export function buildReport(f: RunFacts): Report {
  const epochs: EpochLine[] = f.effectiveness.epochs.map((e) => {
    const delays = e.validators.map((v) => v.inclusion_delay).filter((d): d is number => d !== null);
    return {
      epoch: e.epoch,
      duties: e.validators.length,
      good: e.validators.filter((v) => v.included && v.correct_target).length,
      meanInclusionDelay: delays.length ? delays.reduce((a, b) => a + b, 0) / delays.length : null,
      proposed: e.proposals.filter((p) => p.due && p.proposed).length,
      missed: e.missed_proposals,
      syncParticipation: e.sync_committee.participation,
      aggregatesAccepted: e.aggregates.accepted,
      aggregatesIncluded: e.aggregates.included,
    };
  });
  const attestationDuties = epochs.reduce((a, e) => a + e.duties, 0);
  const attestationsGood = epochs.reduce((a, e) => a + e.good, 0);
  const allDelays = f.effectiveness.epochs.flatMap((e) => e.validators.map((v) => v.inclusion_delay).filter((d): d is number => d !== null));
  const attesterOk = f.duties.filter((d) => d.duty === "attester" && d.status === "submitted");
  const submitMs = attesterOk.map((d) => d.stages.submit).filter((x): x is number => typeof x === "number").sort((a, b) => a - b);
  const consensusMs = attesterOk.map((d) => d.stages.consensus).filter((x): x is number => typeof x === "number").sort((a, b) => a - b);
  const deadlineMs = Math.round(f.slotMs / 3);
  const finalizedAtStart = f.samples.find((s) => s.finalized !== undefined)?.finalized ?? 0;
  const lastSlot = f.epochs * f.slotsPerEpoch - 1;

  const failures = groupFailures(f);
  const report: Omit<Report, "targets" | "passed"> = {
    facts: f,
    epochs,
    effectiveness: attestationDuties ? attestationsGood / attestationDuties : 0,
    attestationDuties,
    attestationsGood,
    meanInclusionDelay: allDelays.length ? allDelays.reduce((a, b) => a + b, 0) / allDelays.length : null,
    proposed: epochs.reduce((a, e) => a + e.proposed, 0),
    missedProposals: epochs.flatMap((e) => e.missed),
    syncParticipation: syncParticipation(f.effectiveness),
    aggregatesAccepted: epochs.reduce((a, e) => a + e.aggregatesAccepted, 0),
    aggregatesIncluded: epochs.reduce((a, e) => a + e.aggregatesIncluded, 0),
    finalizedAtStart,
    finalizedAtEnd: f.effectiveness.finalized.epoch,
    justifiedAtEnd: f.effectiveness.current_justified.epoch,
    latency: {
      count: submitMs.length,
      p50: quantile(submitMs, 0.5),
      p99: quantile(submitMs, 0.99),
      deadlineMs,
      overDeadline: submitMs.filter((x) => x > deadlineMs).length,
      consensusP50: quantile(consensusMs, 0.5),
      consensusP99: quantile(consensusMs, 0.99),
    },
    timeline: timeline(f, lastSlot),
    outcomes: outcomes(f.duties),
    failures,
    faults: faultLines(f, lastSlot),
    refusals: Array.from({length: f.nodes}, (_, k) => k + 1).flatMap((node) =>
      Object.entries(lastUp(f.samples, node)?.refused ?? {}).map(([limiter, count]) => ({node, limiter, count})),
    ),
    series: Array.from({length: f.nodes}, (_, k) => k + 1).map((node) => {
      const s = lastUp(f.samples, node);
      return {node, entries: s?.seriesEntries ?? 0, bytes: s?.seriesBytes ?? 0};
    }),
  };
  const targets = [
    {name: "effectiveness", met: report.effectiveness >= EFFECTIVENESS_TARGET, detail: `${pct(report.effectiveness)} of ${attestationDuties} attestations included with the correct target (target ${pct(EFFECTIVENESS_TARGET)})`},
    {name: "finality", met: report.finalizedAtEnd > finalizedAtStart, detail: `finalized epoch ${finalizedAtStart} at the start, ${report.finalizedAtEnd} at the end`},
    {
      name: "no slashable signature",
      met: f.slashing.slashable.length === 0 && f.slashing.errors.length === 0 && f.slashing.nodes.length === f.nodes,
      detail:
        `${f.slashing.attestations} attestation and ${f.slashing.blocks} block records of ${f.slashing.nodes.length} of ${f.nodes} nodes' slashing-protection DBs: ` +
        `${f.slashing.slashable.length} slashable pair(s)${f.slashing.errors.length ? `; unreadable: ${f.slashing.errors.join("; ")}` : ""}`,
    },
  ];
  return {...report, targets, passed: targets.every((t) => t.met)};
}

export const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/**
 * Weighted by blocks: an epoch with two blocks must not count as much as one with eight. The committee size
 * is the same in every epoch, so this is the run's bits set over the bits its blocks had.
 */
function syncParticipation(e: EffectivenessAnswer): number | null {
  let weighted = 0;
  let blocks = 0;
  for (const x of e.epochs) {
    if (x.sync_committee.participation === null || x.sync_committee.blocks === 0) continue;
    weighted += x.sync_committee.participation * x.sync_committee.blocks;
    blocks += x.sync_committee.blocks;
  }
  return blocks > 0 ? weighted / blocks : null;
}

function timeline(f: RunFacts, lastSlot: number): Report["timeline"] {
  const bySlot = new Map<number, Map<number, boolean>>();
  const latency = new Map<number, number[]>();
  for (const d of f.duties) {
    if (d.duty !== "attester" || d.slot > lastSlot) continue;
    const m = bySlot.get(d.slot) ?? new Map<number, boolean>();
    bySlot.set(d.slot, m);
    m.set(d.validatorIndex, m.get(d.validatorIndex) === true || d.status === "submitted");
    if (d.status === "submitted" && typeof d.stages.submit === "number") latency.set(d.slot, [...(latency.get(d.slot) ?? []), d.stages.submit]);
  }
  const out: Report["timeline"] = [];
  for (let slot = 0; slot <= lastSlot; slot++) {
    const m = bySlot.get(slot);
    const ok = m ? [...m.values()].filter(Boolean).length : 0;
    const l = (latency.get(slot) ?? []).sort((a, b) => a - b);
    out.push({slot, submitted: ok, failed: m ? m.size - ok : 0, p50: l.length ? quantile(l, 0.5) : null});
  }
  return out;
}

function outcomes(duties: DutyRecord[]): Report["outcomes"] {
  const m = new Map<string, Report["outcomes"][number]>();
  for (const d of duties) {
    const key = `${d.duty}|${d.status}|${d.reason ?? ""}`;
    const o = m.get(key) ?? {duty: d.duty, status: d.status, reason: d.reason ?? "", perNode: {}};
    o.perNode[d.node] = (o.perNode[d.node] ?? 0) + 1;
    m.set(key, o);
  }
  return [...m.values()].sort((a, b) => a.duty.localeCompare(b.duty) || a.status.localeCompare(b.status) || a.reason.localeCompare(b.reason));
}

/** A duty whose slot is unknown (duty_fetch_failed, epoch never fetched) may have fallen as late as its window's end. */
const lastSlotOf = (d: DutyRecord): number => d.window?.to ?? d.slot;

function groupFailures(f: RunFacts): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const d of f.duties) {
    if (d.status !== "failed") continue;
    const reason = d.reason ?? "unknown";
    const key = `${d.duty}|${reason}`;
    const g = groups.get(key) ?? {duty: d.duty, reason, count: 0, slots: [d.slot, d.slot], reportedBy: [], missing: [], minNodesUp: f.nodes};
    g.count++;
    const up = f.samples.find((x) => x.slot === d.slot)?.nodes.filter((n) => n.up).length;
    if (up !== undefined) g.minNodesUp = Math.min(g.minNodesUp, up);
    g.slots = [Math.min(g.slots[0], d.slot), Math.max(g.slots[1], lastSlotOf(d))];
    if (!g.reportedBy.includes(d.node)) g.reportedBy.push(d.node);
    for (const m of d.missing ?? []) if (!g.missing.includes(m)) g.missing.push(m);
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    g.reportedBy.sort((a, b) => a - b);
    g.missing.sort((a, b) => a - b);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

function faultLines(f: RunFacts, lastSlot: number): FaultLine[] {
  return f.faults.map((r, i) => {
    const next = f.faults.slice(i + 1).find((x) => x.event.node === r.event.node);
    const untilSlot = r.event.action === "kill" ? Math.min(next?.slot ?? lastSlot + 1, lastSlot + 1) - 1 : lastSlot;
    const inWindow = f.duties.filter((d) => lastSlotOf(d) >= r.slot && d.slot <= untilSlot && d.status === "failed");
    const reasons: Record<string, number> = {};
    for (const d of inWindow) reasons[d.reason ?? "unknown"] = (reasons[d.reason ?? "unknown"] ?? 0) + 1;
    const missedOnChain = f.effectiveness.epochs
      .flatMap((e) => e.validators)
      .filter((v) => v.duty.slot >= r.slot && v.duty.slot <= untilSlot && !(v.included && v.correct_target)).length;
    const line: FaultLine = {...r, untilSlot, failedDuties: inWindow.length, reasons, missedOnChain};
    if (r.event.action === "start") {
      const back = f.duties.find((d) => d.node === r.event.node && d.slot >= r.slot && d.status === "submitted");
      if (back) {
        line.recoveredSlot = back.slot;
        line.recoveredAfterSec = Math.max(0, (f.genesisTime * 1000 + back.slot * f.slotMs - r.at) / 1000);
      }
    }
    return line;
  });
}
