import {ipcRequest} from "../api/ipc.js";
import type {DevnetNode} from "./cluster.js";
import type {DutyRecord} from "./observer.js";

/** One `eth_block` chunk as a node's series holds it: `holder` keeps `origin`'s view of a block. */
export interface ViewRecord {
  holder: number;
  origin: number;
  slot: number;
  root: string;
  verdict: string;
}

/** What one node shared of its verdicts, and how much of it every other node holds. */
export interface SharingLine {
  origin: number;
  /** Distinct blocks it shared a `valid` view of (its own series: it outlives restarts). */
  sent: number;
  /** Slots with a block (a valid view from any node) in which the origin ran duties, from its first view on. */
  slotsUp: number;
  /** Of those, the slots it shared a valid view for. */
  slotsCovered: number;
  /** Per other node read at the end: how many of the origin's valid views its series holds. */
  heldBy: {node: number; held: number}[];
}

interface ViewEntry {
  type: string;
  chunk?: {origin?: unknown; slot?: unknown};
  view?: {root?: unknown; verdict?: unknown};
}

/** Every block view a node's series holds, its own (sent) and its peers' (accepted or fetched). */
export async function pullViews(n: DevnetNode, tail: number): Promise<ViewRecord[]> {
  const answer = await ipcRequest<{entries: ViewEntry[]}>(n.ipc, "series", {tail, kind: "eth_block"}, 5000);
  return answer.entries.flatMap((e) => {
    const {chunk, view} = e;
    if (typeof chunk?.origin !== "number" || typeof chunk.slot !== "number" || typeof view?.root !== "string")
      return [];
    return [{holder: n.index, origin: chunk.origin, slot: chunk.slot, root: view.root, verdict: String(view.verdict)}];
  });
}

/** Per node of `nodes` (those read at the end): what it shared, and what each of the others holds of it. */
export function sharingLines(nodes: number[], views: ViewRecord[], duties: DutyRecord[]): SharingLine[] {
  const blockSlots = new Set(views.filter((v) => v.verdict === "valid").map((v) => v.slot));
  return nodes.map((origin) => {
    const own = views.filter((v) => v.holder === origin && v.origin === origin && v.verdict === "valid");
    const key = (v: ViewRecord) => `${v.slot}:${v.root}`;
    const sent = new Set(own.map(key));
    const covered = new Set(own.map((v) => v.slot));
    // From its first view on: before it, the node's follower was still loading its anchor state.
    const first = Math.min(...covered);
    const ranDuties = new Set(duties.filter((d) => d.node === origin).map((d) => d.slot));
    const up = [...blockSlots].filter((s) => s >= first && ranDuties.has(s));
    return {
      origin,
      sent: sent.size,
      slotsUp: up.length,
      slotsCovered: up.filter((s) => covered.has(s)).length,
      heldBy: nodes
        .filter((n) => n !== origin)
        .map((node) => ({
          node,
          held: new Set(views.filter((v) => v.holder === node && v.origin === origin && sent.has(key(v))).map(key))
            .size,
        })),
    };
  });
}

/** The least share, over every origin and holder, of an origin's valid views that a holder keeps (1 with none). */
export function leastHeld(lines: SharingLine[]): number {
  let least = 1;
  for (const l of lines) for (const h of l.heldBy) least = Math.min(least, l.sent === 0 ? 0 : h.held / l.sent);
  return least;
}

/** The least share, over origins, of the block slots it ran duties in that it shared a valid view for. */
export function leastCovered(lines: SharingLine[]): number {
  let least = 1;
  for (const l of lines) least = Math.min(least, l.slotsUp === 0 ? 0 : l.slotsCovered / l.slotsUp);
  return least;
}
