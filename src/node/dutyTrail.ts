import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {decodeChunk} from "../hotpath/chunk.js";
import {CHUNK_ENTRY_TYPES, type Entry, parseJsonBody} from "../storage/entry.js";
import {decodePartialSigs} from "../roles/validator/exchange/partialSigs.js";
import {decodeSignedQbft} from "../roles/validator/consensus/codec.js";
import type {AnyDutyResult} from "../roles/validator/validatorRole.js";
import type {InclusionResult} from "../roles/validator/tracking/inclusionChecker.js";
import {UNKNOWN_VALIDATOR} from "../roles/validator/tracking/dutyFetchFailures.js";

/** One thing this node saw or did for the slot, in series order. */
export interface TrailEvent {
  /** ms since the slot started (or since the first entry, when the slot clock is unknown). */
  at: number;
  /** The operator the chunk came from (this node for what it sent). */
  node: number;
  kind: "qbft" | "partial_sig" | "result" | "inclusion";
  text: string;
}

export interface DutyTrail {
  slot: number;
  validator?: number;
  /** The answer to "what happened, and why" in one line. */
  headline: string;
  results: AnyDutyResult[];
  /** What the chain showed for the submitted attestations, once their inclusion window closed. */
  inclusions: InclusionResult[];
  /** Per consensus instance: who took part and how it ended, as this node saw it. */
  consensus: {instance: string; nodes: number[]; messages: number; decidedRound?: number; lateNodes?: number[]}[];
  /** Per duty: the operators whose partial signatures reached this node (for the validator, if one is given). */
  partials: {duty: string; nodes: number[]}[];
  events: TrailEvent[];
}

/**
 * Rebuilds a slot's duty trail from the node's own series: the `qbft` and `partial_sig` chunks it sent and
 * received (with who sent them and when) and the `duty_result` entries its services appended. Nothing is
 * kept anywhere else, so the trail survives restarts and can be read after the fact.
 */
export function buildDutyTrail(
  entries: Entry[],
  self: number,
  slot: number,
  slotStartMs: number | undefined,
  validator?: number,
): DutyTrail {
  const zero = slotStartMs ?? entries[0]?.t ?? 0;
  const results = entries
    .filter((e) => e.type === "duty_result")
    .map((e) => parseJsonBody<AnyDutyResult>(e))
    .filter((r) => covers(r, slot) && (validator === undefined || r.validatorIndex === validator));
  const inclusions = entries
    .filter((e) => e.type === "duty_inclusion")
    .map((e) => parseJsonBody<InclusionResult>(e))
    .filter((r) => r.slot === slot && (validator === undefined || r.validatorIndex === validator));
  const pubkey = validator === undefined ? undefined : results[0]?.pubkey;
  const events: TrailEvent[] = [];
  const consensus = new Map<string, {nodes: Set<number>; late: Set<number>; messages: number; decidedRound?: number}>();
  // A duty's outcome is final when its first result is recorded: messages after that (a node that was
  // frozen and woke up) are shown as late, not as having taken part.
  const outcomeAt = new Map<string, number>();
  for (const e of entries) {
    if (e.type !== "duty_result") continue;
    const duty = parseJsonBody<AnyDutyResult>(e).duty;
    if (!outcomeAt.has(duty)) outcomeAt.set(duty, e.t);
  }
  const partials = new Map<string, Set<number>>();

  for (const e of entries) {
    const at = e.t - zero;
    if (e.type === "duty_result") {
      const r = parseJsonBody<AnyDutyResult>(e);
      if (validator === undefined || r.validatorIndex === validator)
        events.push({at, node: self, kind: "result", text: `${r.duty} ${whom(r)} ${describeOutcome(r)}`});
      continue;
    }
    if (e.type === "duty_inclusion") {
      const r = parseJsonBody<InclusionResult>(e);
      if (validator === undefined || r.validatorIndex === validator)
        events.push({at, node: self, kind: "inclusion", text: `attester v${r.validatorIndex} ${describeInclusion(r)}`});
      continue;
    }
    if (!CHUNK_ENTRY_TYPES.has(e.type)) continue;
    const chunk = decodeChunk(e.body.subarray(1));
    const node = chunk.origin;
    if (chunk.kind === "qbft") {
      let msg;
      try {
        msg = decodeSignedQbft(chunk.payload).msg;
      } catch {
        continue;
      }
      const c = consensus.get(msg.instance) ?? {nodes: new Set<number>(), late: new Set<number>(), messages: 0};
      const late = e.t > (outcomeAt.get(msg.instance.split("/")[0] ?? "") ?? Number.POSITIVE_INFINITY);
      (late ? c.late : c.nodes).add(node);
      c.messages++;
      if (msg.type === "DECIDED") c.decidedRound ??= msg.round;
      consensus.set(msg.instance, c);
      events.push({
        at,
        node,
        kind: "qbft",
        text: `${msg.instance} ${msg.type} round ${msg.round}${msg.sender !== node ? ` (of node ${msg.sender})` : ""}${late ? " (after the outcome)" : ""}`,
      });
    } else if (chunk.kind === "partial_sig") {
      const batch = decodePartialSigs(chunk.payload);
      if (!batch) continue;
      const sigs = pubkey === undefined ? batch.sigs : batch.sigs.filter((s) => s.pubkey === pubkey);
      if (validator !== undefined && sigs.length === 0) continue;
      const set = partials.get(batch.duty) ?? new Set<number>();
      set.add(node);
      partials.set(batch.duty, set);
      events.push({
        at,
        node,
        kind: "partial_sig",
        text: `${batch.duty} partial signature${sigs.length === 1 ? "" : `s for ${sigs.length} validators`}`,
      });
    }
  }
  return {
    slot,
    ...(validator === undefined ? {} : {validator}),
    headline: headline(slot, validator, results, inclusions),
    results,
    inclusions,
    consensus: [...consensus].map(([instance, c]) => {
      const late = [...c.late].filter((n) => !c.nodes.has(n)).sort((a, b) => a - b);
      return {
        instance,
        nodes: [...c.nodes].sort((a, b) => a - b),
        messages: c.messages,
        ...(c.decidedRound === undefined ? {} : {decidedRound: c.decidedRound}),
        ...(late.length ? {lateNodes: late} : {}),
      };
    }),
    partials: [...partials].map(([duty, nodes]) => ({duty, nodes: [...nodes].sort((a, b) => a - b)})),
    events,
  };
}

/**
 * The duty results recorded at earlier slots of `slot`'s epoch whose window covers it: a duty whose epoch's
 * duties were never fetched is recorded once, at the first slot it may have fallen in, and asked about any
 * other slot of its window, `r3dv duty` must still show it. Windows never leave their epoch.
 */
export function windowedResults(entriesAt: (slot: number) => Entry[], slot: number): Entry[] {
  const out: Entry[] = [];
  for (let s = slot - (slot % SLOTS_PER_EPOCH); s < slot; s++) {
    for (const e of entriesAt(s))
      if (e.type === "duty_result" && covers(parseJsonBody<AnyDutyResult>(e), slot)) out.push(e);
  }
  return out;
}

/**
 * A result is the slot's when it is at the slot, or when its slot is unknown (duties never fetched) and the
 * slot is within the window it may have fallen in: asked about any of them, the answer is that failure.
 */
function covers(r: AnyDutyResult, slot: number): boolean {
  return r.slot === slot || (r.window !== undefined && slot >= r.window.from && slot <= r.window.to);
}

/** "validator 12", or, for an epoch-wide result standing for duties of validators unknown, what it stands for. */
function whom(r: AnyDutyResult): string {
  return r.validatorIndex === UNKNOWN_VALIDATOR ? "(validators unknown)" : `validator ${r.validatorIndex}`;
}

function describeOutcome(r: AnyDutyResult): string {
  const parts: string[] = [r.status];
  if (r.reason) parts.push(r.reason);
  if (r.missing?.length) parts.push(`missing node(s) ${r.missing.join(", ")}`);
  if (r.invalidPartials?.length) parts.push(`invalid partial(s) from node(s) ${r.invalidPartials.join(", ")}`);
  // A proposal with the builder API: whose block it was, and why this node's own fetch fell back to a local one.
  if ("path" in r && r.path) parts.push(`${r.path} block${r.pathDetail ? ` (${r.pathDetail})` : ""}`);
  if ("overBudget" in r && r.overBudget?.length) parts.push(`over budget: ${r.overBudget.join(", ")}`);
  // --verify enforce: the beacon node's head was not signed for; which block was, and why.
  if ("headReplaced" in r && r.headReplaced)
    parts.push(`voted for ${r.headReplaced.to} instead of ${r.headReplaced.from} (${r.headReplaced.reason})`);
  return parts.join(" ");
}

/** "slot S: N <duty> FAILED <reason> ... (detail)" for the most common failure, or "slot S: all submitted (...)". */
function describeInclusion(r: InclusionResult): string {
  if (r.error) return `inclusion unknown: ${r.error}`;
  if (!r.included) return "NOT INCLUDED in the blocks of its window";
  return `included in slot ${String(r.inclusionSlot)} (delay ${String(r.delay)})${r.correctTarget ? "" : " with a WRONG TARGET"}`;
}

/**
 * Which failure the headline names: the duty worth most to the validator over an epoch comes first, whatever
 * the counts (a slot's 30 sync contribution results would otherwise hide its 8 failed attestations).
 */
const HEADLINE_ORDER = ["attester", "proposer", "aggregator", "sync_message", "sync_contribution"];
const dutyRank = (duty: string): number => {
  const i = HEADLINE_ORDER.indexOf(duty);
  return i < 0 ? HEADLINE_ORDER.length : i;
};

/** Outcomes that are this node's part done: submitted, or (`--recoverers designated`) shared for others to submit. */
const DONE = new Set(["submitted", "delegated"]);

function headline(
  slot: number,
  validator: number | undefined,
  results: AnyDutyResult[],
  inclusions: InclusionResult[],
): string {
  const who = validator === undefined ? `slot ${slot}` : `slot ${slot}, validator ${validator}`;
  if (results.length === 0)
    return `${who}: no duty results recorded by this node (no duty, or the node was not running)`;
  const groups = new Map<string, {n: number; r: AnyDutyResult}>();
  for (const r of results) {
    if (r.status === "not_selected") continue;
    const key = `${r.duty}|${describeOutcome(r)}`;
    const g = groups.get(key) ?? {n: 0, r};
    g.n++;
    groups.set(key, g);
  }
  const all = [...groups.values()];
  // A submitted duty that met an invalid partial is news too: some node is signing wrong.
  const bad = all
    .filter((g) => !DONE.has(g.r.status) || (g.r.invalidPartials?.length ?? 0) > 0)
    .sort((a, b) => dutyRank(a.r.duty) - dutyRank(b.r.duty) || b.n - a.n);
  const first = bad[0];
  if (!first) {
    const ok = inclusions.filter((r) => r.included && r.correctTarget).length;
    const chain =
      inclusions.length > 0 ? `; ${ok} of ${inclusions.length} attestations included with the right target` : "";
    return `${who}: all submitted (${all.map((g) => `${g.n} ${g.r.duty}`).join(", ") || "no duty to perform"})${chain}`;
  }
  const {r} = first;
  const outcome = describeOutcome(r).replace(r.status, r.status.toUpperCase());
  const more = bad.length > 1 ? `; ${bad.length - 1} other outcome(s) worth a look below` : "";
  return `${who}: ${first.n} ${r.duty} ${outcome}${r.detail ? ` (${r.detail})` : ""}${more}`;
}

/** The trail as text: the headline first, then results, consensus, partials and the timeline. */
export function formatDutyTrail(t: DutyTrail): string {
  const lines = [t.headline, "", "outcomes:"];
  for (const r of t.results) {
    const stages =
      "stages" in r
        ? Object.entries(r.stages ?? {})
            .map(([k, v]) => `${k} ${String(v)} ms`)
            .join(", ")
        : "";
    lines.push(
      `  ${r.duty} ${whom(r)}: ${describeOutcome(r)}${"round" in r && r.round ? `, round ${r.round}` : ""}${stages ? ` [${stages}]` : ""}`,
    );
  }
  if (t.inclusions.length > 0) {
    lines.push("on chain:");
    for (const r of t.inclusions) lines.push(`  attester validator ${r.validatorIndex}: ${describeInclusion(r)}`);
  }
  lines.push("consensus (nodes heard, messages):");
  for (const c of t.consensus) {
    const late = c.lateNodes ? `; node(s) ${c.lateNodes.join(", ")} only after the outcome` : "";
    lines.push(
      `  ${c.instance}: nodes ${c.nodes.join(", ")}; ${c.messages} messages; ${c.decidedRound === undefined ? "no decision seen" : `decided in round ${c.decidedRound}`}${late}`,
    );
  }
  lines.push("partial signatures received from:");
  for (const p of t.partials) lines.push(`  ${p.duty}: nodes ${p.nodes.join(", ")}`);
  lines.push("timeline (ms from slot start, node):");
  for (const e of t.events) lines.push(`  ${String(e.at).padStart(6)}  node ${e.node}  ${e.text}`);
  return lines.join("\n");
}
