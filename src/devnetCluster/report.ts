import type {ChaosEvent} from "./chaos.js";
import type {DutyRecord, SlotSample} from "./observer.js";
import type {SlashingAudit} from "./slashingAudit.js";
import {type VerificationLine, type VerdictRecord, verificationLines} from "./verification.js";
import {type SharingLine, type ViewRecord, sharingLines} from "./blockViews.js";
import type {VerifyMode} from "../node/config.js";
import {quantile} from "./quantile.js";
import type {Latency} from "./linkDelay.js";
import type {InvalidHeadAnswer} from "./beacon.js";
import {type InvalidHeadLine, invalidHeadLines} from "./invalidHeads.js";
import {judge, syncParticipation} from "./reportTargets.js";
import {
  PROPOSAL_STAGES,
  type ProposalStage,
  proposalBudgetMs,
} from "../roles/validator/duties/proposer/proposalBudget.js";

/** What the devnet's /r3dv/v1/effectiveness answers (the fields read here). */
export interface EffectivenessAnswer {
  finalized: {epoch: number};
  current_justified: {epoch: number};
  epochs: {
    epoch: number;
    validators: {
      index: number;
      duty: {slot: number};
      included: boolean;
      correct_target: boolean;
      inclusion_delay: number | null;
    }[];
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
  /** Every node's block verdicts (the EVM role, `--verify enforce`), read from the nodes running at the end. */
  verdicts: VerdictRecord[];
  /** The nodes whose verdicts were read: a node down at the end is not judged on them. */
  verdictsFrom: number[];
  /** The devnet's injected invalid heads (`invalid-head@EPOCH`) and every signature it received over them. */
  invalidHeads: InvalidHeadAnswer[];
  /** Every block view (`eth_block` chunk) the nodes of `verdictsFrom` hold, their own and their peers'. */
  views: ViewRecord[];
  /** The nodes' `--verify` (enforce when absent): with off there are no verdicts or views to judge. */
  verify?: VerifyMode;
  /** `--latency`: the round trip the delay proxies added between nodes. */
  latency?: Latency;
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
  /** Canonical blocks of the epoch with a sync aggregate (what syncParticipation is over). */
  syncBlocks: number;
  aggregatesAccepted: number;
  aggregatesIncluded: number;
  /** False when an injected fault left fewer than threshold nodes submitting at some slot of the epoch. */
  quorum: boolean;
}

/** One line of the verdict: what was measured against what a user expects, and whether it passed. */
export interface Target {
  name: string;
  measured: string;
  target: string;
  met: boolean;
  /** Both in one sentence, for a log line or report.json. */
  detail: string;
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
  latency: {
    count: number;
    p50: number;
    p99: number;
    deadlineMs: number;
    overDeadline: number;
    consensusP50: number;
    consensusP99: number;
  };
  /** Round trips between nodes as the nodes measured them (libp2p ping), over every sample; null: none measured. */
  peerRtt: {p50: number; p99: number; count: number} | null;
  /** Per slot: the cluster's attester duties submitted (by any node) and failed (by every node that reported). */
  timeline: {slot: number; submitted: number; failed: number; p50: number | null}[];
  outcomes: {duty: string; status: string; reason: string; perNode: Record<number, number>}[];
  failures: FailureGroup[];
  faults: FaultLine[];
  refusals: {node: number; limiter: string; count: number}[];
  series: {node: number; entries: number; bytes: number}[];
  /** Each node's block verdicts: verified, invalid, unverifiable, and the time a verified block took. */
  verification: VerificationLine[];
  /** Each node's block views shared with the others, and what each of them holds. */
  sharing: SharingLine[];
  /** Each injected invalid head: who judged it invalid, what was signed over it (nothing), what was voted instead. */
  invalidHeads: InvalidHeadLine[];
  /** The cluster's proposals by path (builder, local, missed), each stage's ms from the slot start over every node. */
  proposals: ProposalPath[];
  /** Epochs excused from the sync, aggregate and proposal targets: an injected fault left no quorum in them. */
  epochsWithoutQuorum: number[];
  targets: Target[];
  passed: boolean;
}

export interface ProposalPath {
  path: "builder" | "local" | "missed";
  slots: number[];
  /** Each stage's ms from the slot start over the path's results, its budget, and how many results ran over it. */
  stages: {stage: ProposalStage; p50: number; p99: number; budget: number; over: number}[];
}

/**
 * Each proposal slot of the cluster by the path its block took: a builder's or a local block (by what the nodes
 * that published it recorded), or missed on chain; with every stage's p50/p99 over the nodes' results of the path.
 */
function proposalPaths(f: RunFacts, missed: number[]): ProposalPath[] {
  const bySlot = new Map<number, DutyRecord[]>();
  for (const d of f.duties)
    if (d.duty === "proposer" && d.validatorIndex >= 0) bySlot.set(d.slot, [...(bySlot.get(d.slot) ?? []), d]);
  const paths = new Map<ProposalPath["path"], {slots: number[]; records: DutyRecord[]}>();
  for (const [slot, records] of [...bySlot].sort((a, b) => a[0] - b[0])) {
    const published = records.filter((r) => r.status === "submitted" || r.status === "late");
    const path =
      missed.includes(slot) || published.length === 0
        ? "missed"
        : published.some((r) => r.path === "builder")
          ? "builder"
          : "local";
    const p = paths.get(path) ?? {slots: [], records: []};
    p.slots.push(slot);
    p.records.push(...(path === "missed" ? records : published));
    paths.set(path, p);
  }
  return (["builder", "local", "missed"] as const).flatMap((path) => {
    const p = paths.get(path);
    if (!p) return [];
    const budget = proposalBudgetMs(f.slotMs);
    const stages = PROPOSAL_STAGES.flatMap((stage) => {
      const ms = p.records
        .map((r) => r.stages[stage])
        .filter((x): x is number => typeof x === "number")
        .sort((a, b) => a - b);
      const over = ms.filter((x) => x > budget[stage]).length;
      return ms.length ? [{stage, p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), budget: budget[stage], over}] : [];
    });
    return [{path, slots: p.slots, stages}];
  });
}

function lastUp(samples: SlotSample[], node: number) {
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = (samples[i] as SlotSample).nodes.find((x) => x.node === node);
    if (s?.up) return s;
  }
  return undefined;
}

export function buildReport(f: RunFacts): Report {
  const lastSlot = f.epochs * f.slotsPerEpoch - 1;
  const faults = faultLines(f, lastSlot);
  const withoutQuorum = epochsWithoutQuorum(f, faults, lastSlot);
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
      syncBlocks: e.sync_committee.blocks,
      aggregatesAccepted: e.aggregates.accepted,
      aggregatesIncluded: e.aggregates.included,
      quorum: !withoutQuorum.has(e.epoch),
    };
  });
  const attestationDuties = epochs.reduce((a, e) => a + e.duties, 0);
  const attestationsGood = epochs.reduce((a, e) => a + e.good, 0);
  const allDelays = f.effectiveness.epochs.flatMap((e) =>
    e.validators.map((v) => v.inclusion_delay).filter((d): d is number => d !== null),
  );
  const attesterOk = f.duties.filter((d) => d.duty === "attester" && d.status === "submitted");
  const submitMs = attesterOk
    .map((d) => d.stages.submit)
    .filter((x): x is number => typeof x === "number")
    .sort((a, b) => a - b);
  const consensusMs = attesterOk
    .map((d) => d.stages.consensus)
    .filter((x): x is number => typeof x === "number")
    .sort((a, b) => a - b);
  const deadlineMs = Math.round(f.slotMs / 3);
  const finalizedAtStart = f.samples.find((s) => s.finalized !== undefined)?.finalized ?? 0;

  const failures = groupFailures(f);
  const rtts = f.samples.flatMap((s) => s.nodes.flatMap((n) => n.peerRttMs ?? [])).sort((a, b) => a - b);
  const report: Omit<Report, "targets" | "passed"> = {
    facts: f,
    peerRtt: rtts.length ? {p50: quantile(rtts, 0.5), p99: quantile(rtts, 0.99), count: rtts.length} : null,
    epochs,
    effectiveness: attestationDuties ? attestationsGood / attestationDuties : 0,
    attestationDuties,
    attestationsGood,
    meanInclusionDelay: allDelays.length ? allDelays.reduce((a, b) => a + b, 0) / allDelays.length : null,
    proposed: epochs.reduce((a, e) => a + e.proposed, 0),
    missedProposals: epochs.flatMap((e) => e.missed),
    syncParticipation: syncParticipation(epochs),
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
    proposals: proposalPaths(
      f,
      epochs.flatMap((e) => e.missed),
    ),
    outcomes: outcomes(f.duties),
    failures,
    faults,
    epochsWithoutQuorum: [...withoutQuorum].sort((a, b) => a - b),
    refusals: Array.from({length: f.nodes}, (_, k) => k + 1).flatMap((node) =>
      Object.entries(lastUp(f.samples, node)?.refused ?? {}).map(([limiter, count]) => ({node, limiter, count})),
    ),
    series: Array.from({length: f.nodes}, (_, k) => k + 1).map((node) => {
      const s = lastUp(f.samples, node);
      return {node, entries: s?.seriesEntries ?? 0, bytes: s?.seriesBytes ?? 0};
    }),
    verification: verificationLines(f.verdictsFrom, f.verdicts),
    invalidHeads: invalidHeadLines(f.invalidHeads, f.verdicts, f.verdictsFrom, f.duties),
    sharing: sharingLines(f.verdictsFrom, f.views, f.duties),
  };
  const targets = judge(report, f);
  return {...report, targets, passed: targets.every((t) => t.met)};
}

/**
 * Epochs where, at some slot, an injected fault left fewer than threshold nodes able to sign: a killed node is
 * down from its kill until it submits a duty again after its restart (or the run's end). In those epochs
 * duties cannot all succeed, and the report shows what they did instead; in every other epoch a quorum was up,
 * so every duty should have succeeded. A node that ended on its own is no injected fault and excuses nothing.
 */
function epochsWithoutQuorum(f: RunFacts, faults: FaultLine[], lastSlot: number): Set<number> {
  const down = new Array<number>(lastSlot + 1).fill(0);
  faults.forEach((x, i) => {
    if (x.event.action !== "kill" || x.error) return;
    const restart = faults.slice(i + 1).find((y) => y.event.node === x.event.node && y.event.action === "start");
    const backAt = Math.min(restart?.recoveredSlot ?? lastSlot + 1, lastSlot + 1);
    for (let slot = x.slot; slot < backAt; slot++) down[slot] = (down[slot] ?? 0) + 1;
  });
  const out = new Set<number>();
  down.forEach((n, slot) => {
    if (f.nodes - n < f.threshold) out.add(Math.floor(slot / f.slotsPerEpoch));
  });
  return out;
}

function timeline(f: RunFacts, lastSlot: number): Report["timeline"] {
  const bySlot = new Map<number, Map<number, boolean>>();
  const latency = new Map<number, number[]>();
  for (const d of f.duties) {
    if (d.duty !== "attester" || d.slot > lastSlot) continue;
    const m = bySlot.get(d.slot) ?? new Map<number, boolean>();
    bySlot.set(d.slot, m);
    m.set(d.validatorIndex, m.get(d.validatorIndex) === true || d.status === "submitted");
    if (d.status === "submitted" && typeof d.stages.submit === "number") {
      // Pushed in place: copying the slot's list per submission was quadratic, 113 s of a 300,000-attestation report.
      const l = latency.get(d.slot);
      if (l) l.push(d.stages.submit);
      else latency.set(d.slot, [d.stages.submit]);
    }
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
  return [...m.values()].sort(
    (a, b) => a.duty.localeCompare(b.duty) || a.status.localeCompare(b.status) || a.reason.localeCompare(b.reason),
  );
}

/** A duty whose slot is unknown (duty_fetch_failed, epoch never fetched) may have fallen as late as its window's end. */
const lastSlotOf = (d: DutyRecord): number => d.window?.to ?? d.slot;

function groupFailures(f: RunFacts): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const d of f.duties) {
    if (d.status !== "failed") continue;
    const reason = d.reason ?? "unknown";
    const key = `${d.duty}|${reason}`;
    const g = groups.get(key) ?? {
      duty: d.duty,
      reason,
      count: 0,
      slots: [d.slot, d.slot],
      reportedBy: [],
      missing: [],
      minNodesUp: f.nodes,
    };
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
    const untilSlot =
      r.event.action === "kill"
        ? // A restart's start comes in the kill's own slot: its window is that slot, not an empty one.
          Math.max(r.slot, Math.min(next?.slot ?? lastSlot + 1, lastSlot + 1) - 1)
        : r.event.action === "invalid_head"
          ? r.slot
          : lastSlot;
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
