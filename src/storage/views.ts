import {type StoredChunkHeader, readStoredChunkHeader} from "../hotpath/chunk.js";
import {type Entry, parseJsonBody} from "./entry.js";

/** Chunks-per-slot keeps this many recent slots: two mainnet epochs, enough for the objective limiter's "recent" band. */
export const SLOT_WINDOW = 128;

export interface PeerView {
  connected: boolean;
  accepted: number;
  refused: number;
  rateLimited: number;
  lastEventT: number;
}

export interface RefusedEntryBody {
  from: number;
  origin: number;
  kind: string;
  slot: number;
  id: string;
  limiter: string;
  reason: string;
}

export interface PeerEventBody {
  peer: number;
  event: "connected" | "disconnected";
}

export interface CompactionBody {
  fromSeq: number;
  toSeq: number;
  entries: number;
  bytes: number;
  lastRemovedHash: string;
}

/** Everything derived from the series, as plain JSON so a snapshot entry can hold it. */
export interface ViewState {
  lastSeq: number;
  entries: number;
  bytesStored: number;
  slotsPerEpoch: number;
  peers: Record<string, PeerView>;
  /** `eth_block` chunks accepted per origin in `epoch` (W-tracking's input). */
  ethBlocks: {epoch: number; byOrigin: Record<string, number>};
  /** `eth_block` chunks accepted per `slot:origin` over the last SLOT_WINDOW slots: W-tracking's per-slot input. */
  ethBlockSlots: Record<string, number>;
  chunksPerSlot: Record<string, number>;
  accepted: Record<string, number>;
  refused: Record<string, number>;
  /** Highest slot of a durable chunk this node holds: where catch-up starts after a restart. */
  lastChunkSlot: number;
  /** Highest `seq` of a chunk this node originated: a restarted node continues after it, never reuses one. */
  ownSeq: number;
}

export function emptyViews(slotsPerEpoch: number): ViewState {
  return {
    lastSeq: 0,
    entries: 0,
    bytesStored: 0,
    slotsPerEpoch,
    peers: {},
    ethBlocks: {epoch: 0, byOrigin: {}},
    ethBlockSlots: {},
    chunksPerSlot: {},
    accepted: {},
    refused: {},
    lastChunkSlot: 0,
    ownSeq: 0,
  };
}

function peer(s: ViewState, index: number): PeerView {
  const key = String(index);
  let p = s.peers[key];
  if (!p) {
    p = {connected: false, accepted: 0, refused: 0, rateLimited: 0, lastEventT: 0};
    s.peers[key] = p;
  }
  return p;
}

/** Chunk entries hold `from u8 | chunk`: the sender, then the chunk's header as chunk.ts reads it. */
function chunkHeader(body: Uint8Array): StoredChunkHeader & {from: number} {
  return {from: body[0] as number, ...readStoredChunkHeader(body.subarray(1))};
}

/**
 * Applies one entry, once, in series order: the incremental fold every derived view is made of. O(1) per
 * entry, except pruning chunks-per-slot, which runs once per new slot and removes at most what was added.
 */
export function applyEntry(s: ViewState, e: Entry, storedBytes: number): void {
  s.lastSeq = e.seq;
  s.entries++;
  s.bytesStored += storedBytes;
  switch (e.type) {
    case "chunk_accepted":
    case "chunk_fetched": {
      const h = chunkHeader(e.body);
      const kind = h.kind ?? "unknown";
      s.accepted[kind] = (s.accepted[kind] ?? 0) + 1;
      if (h.from !== 0) peer(s, h.from).accepted++;
      countSlot(s, h.slot);
      if (h.slot > s.lastChunkSlot) s.lastChunkSlot = h.slot;
      if (kind === "eth_block") {
        const epoch = Math.floor(h.slot / s.slotsPerEpoch);
        if (epoch > s.ethBlocks.epoch) s.ethBlocks = {epoch, byOrigin: {}};
        if (epoch === s.ethBlocks.epoch) s.ethBlocks.byOrigin[h.origin] = (s.ethBlocks.byOrigin[h.origin] ?? 0) + 1;
        countEthBlock(s, h.slot, h.origin);
      }
      break;
    }
    case "chunk_sent": {
      const h = chunkHeader(e.body);
      s.ownSeq = Math.max(s.ownSeq, h.seq);
      countSlot(s, h.slot);
      if (h.slot > s.lastChunkSlot) s.lastChunkSlot = h.slot;
      break;
    }
    case "chunk_refused": {
      const b = parseJsonBody<RefusedEntryBody>(e);
      const key = `${b.limiter}:${b.reason}`;
      s.refused[key] = (s.refused[key] ?? 0) + 1;
      if (b.from !== 0) peer(s, b.from).refused++;
      break;
    }
    case "rate_limited": {
      // `reason` says which budget (chunks or bytes); entries written before byte budgets have none.
      const b = parseJsonBody<{peer: number; count: number; reason?: string}>(e);
      peer(s, b.peer).rateLimited += b.count;
      const key = `rate:${b.reason ?? "rate_limited"}`;
      s.refused[key] = (s.refused[key] ?? 0) + b.count;
      break;
    }
    case "peer_event": {
      const b = parseJsonBody<PeerEventBody>(e);
      const p = peer(s, b.peer);
      p.connected = b.event === "connected";
      p.lastEventT = e.t;
      break;
    }
    case "compaction": {
      const b = parseJsonBody<CompactionBody>(e);
      s.entries -= b.entries;
      s.bytesStored -= b.bytes;
      break;
    }
    case "genesis":
    case "snapshot":
      break;
  }
}

function countSlot(s: ViewState, slot: number): void {
  const key = String(slot);
  const had = s.chunksPerSlot[key];
  s.chunksPerSlot[key] = (had ?? 0) + 1;
  if (had === undefined) {
    for (const k of Object.keys(s.chunksPerSlot)) if (Number(k) <= slot - SLOT_WINDOW) delete s.chunksPerSlot[k];
    // Views older than the window are refused as too old anyway (OBJECTIVE_RECENT_SLOTS < SLOT_WINDOW).
    for (const k of Object.keys(s.ethBlockSlots))
      if (Number(k.slice(0, k.indexOf(":"))) <= slot - SLOT_WINDOW) delete s.ethBlockSlots[k];
  }
}

function countEthBlock(s: ViewState, slot: number, origin: number): void {
  const key = `${slot}:${origin}`;
  s.ethBlockSlots[key] = (s.ethBlockSlots[key] ?? 0) + 1;
}

/** W-tracking's per-slot input: the block views of `slot` from `origin` this node accepted. */
export function ethBlocksInSlot(s: ViewState, origin: number, slot: number): number {
  return s.ethBlockSlots[`${slot}:${origin}`] ?? 0;
}

/** W-tracking's input for a chunk: this origin's accepted block views in the chunk's epoch. */
export function ethBlocksInEpoch(s: ViewState, origin: number, slot: number): number {
  const epoch = Math.floor(slot / s.slotsPerEpoch);
  return epoch === s.ethBlocks.epoch ? (s.ethBlocks.byOrigin[origin] ?? 0) : 0;
}
