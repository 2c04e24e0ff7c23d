import {ipcRequest} from "../api/ipc.js";
import type {NodeStatus} from "../node/status.js";
import type {DevnetNode} from "./cluster.js";

/** One node as seen at one slot. `up`: its process runs and its status endpoint answered. */
export interface NodeSample {
  node: number;
  up: boolean;
  peers?: number;
  seriesEntries?: number;
  seriesBytes?: number;
  /** Chunks this node refused since it started, by limiter. */
  refused?: Record<string, number>;
  /** Round trips to its connected peers (libp2p ping), as it last measured them. */
  peerRttMs?: number[];
}

export interface SlotSample {
  slot: number;
  /** ms since the epoch. */
  t: number;
  nodes: NodeSample[];
  justified?: number;
  finalized?: number;
}

/** A `duty_result` series entry as a node recorded it. */
export interface DutyRecord {
  node: number;
  seq: number;
  duty: string;
  slot: number;
  validatorIndex: number;
  status: string;
  reason?: string;
  detail?: string;
  /** ms from the duty's due time to the end of each stage reached. */
  stages: Record<string, number>;
  round?: number;
  /** Operators whose messages were missing, when the node could name them. */
  missing?: number[];
  /** A proposal's path with the builder API (builder or local). */
  path?: string;
  /** A duty_fetch_failed duty whose slot is unknown: the slots it may have fallen in (`slot` is the first). */
  window?: {from: number; to: number};
  /** `--verify enforce`: the head the node's beacon node named (from) and the verified block it proposed instead. */
  headReplaced?: {from: string; to: string};
}

const isReplacement = (r: unknown): r is {from: string; to: string} =>
  typeof r === "object" &&
  r !== null &&
  typeof (r as {from?: unknown}).from === "string" &&
  typeof (r as {to?: unknown}).to === "string";

const isWindow = (w: unknown): w is {from: number; to: number} =>
  typeof w === "object" &&
  w !== null &&
  typeof (w as {from?: unknown}).from === "number" &&
  typeof (w as {to?: unknown}).to === "number";

/** A status request must not hold up a slot's sample: a node that cannot answer in this time counts as down. */
const STATUS_TIMEOUT_MS = 1000;

export async function sampleNode(n: DevnetNode, running: boolean): Promise<NodeSample> {
  if (!running) return {node: n.index, up: false};
  try {
    const res = await fetch(`${n.httpUrl}/r3dv/v1/status`, {signal: AbortSignal.timeout(STATUS_TIMEOUT_MS)});
    if (!res.ok) return {node: n.index, up: false};
    const s = (await res.json()) as NodeStatus;
    return {
      node: n.index,
      up: true,
      peers: s.ready.peersConnected,
      seriesEntries: s.series.entries,
      seriesBytes: s.series.bytes,
      refused: s.limiters.refused,
      peerRttMs: s.peers.flatMap((p) => (p.connected && p.rttMs !== undefined ? [p.rttMs] : [])),
    };
  } catch {
    return {node: n.index, up: false};
  }
}

export async function sampleFinality(beaconUrl: string): Promise<{justified: number; finalized: number} | undefined> {
  try {
    const res = await fetch(`${beaconUrl}/eth/v1/beacon/states/head/finality_checkpoints`, {
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
    const body = (await res.json()) as {data: {current_justified: {epoch: string}; finalized: {epoch: string}}};
    return {justified: Number(body.data.current_justified.epoch), finalized: Number(body.data.finalized.epoch)};
  } catch {
    return undefined;
  }
}

/** What a node's `series` IPC method answers. */
export interface SeriesAnswer {
  entries: {seq: number; type: string; body?: Record<string, unknown>}[];
}

/**
 * Every duty result of every node, gathered over the run: a node's latest entries each slot (a node killed
 * later keeps what it recorded before), and each running node's whole history at the end.
 */
export class DutyLog {
  private readonly byKey = new Map<string, DutyRecord>();

  async pull(n: DevnetNode, tail: number): Promise<DutyRecord[]> {
    const answer = await ipcRequest<SeriesAnswer>(n.ipc, "series", {tail, kind: "duty_result"}, 5000);
    const fresh: DutyRecord[] = [];
    for (const e of answer.entries) {
      const key = `${n.index}:${e.seq}`;
      if (e.type !== "duty_result" || !e.body || this.byKey.has(key)) continue;
      const b = e.body;
      const r: DutyRecord = {
        node: n.index,
        seq: e.seq,
        duty: String(b.duty),
        slot: Number(b.slot),
        validatorIndex: Number(b.validatorIndex),
        status: String(b.status),
        stages: (b.stages as Record<string, number> | undefined) ?? {},
        ...(b.reason !== undefined ? {reason: String(b.reason)} : {}),
        ...(b.detail !== undefined ? {detail: String(b.detail)} : {}),
        ...(typeof b.round === "number" ? {round: b.round} : {}),
        ...(typeof b.path === "string" ? {path: b.path} : {}),
        ...(Array.isArray(b.missing) ? {missing: b.missing.map(Number)} : {}),
        ...(isWindow(b.window) ? {window: {from: b.window.from, to: b.window.to}} : {}),
        ...(isReplacement(b.headReplaced) ? {headReplaced: {from: b.headReplaced.from, to: b.headReplaced.to}} : {}),
      };
      this.byKey.set(key, r);
      fresh.push(r);
    }
    return fresh;
  }

  all(): DutyRecord[] {
    return [...this.byKey.values()].sort((a, b) => a.slot - b.slot || a.node - b.node || a.seq - b.seq);
  }
}
