import {mkdirSync} from "node:fs";
import {type Database, type RootDatabase, open} from "lmdb";
import {chunkId, readStoredChunkHeader} from "../hotpath/chunk.js";
import {toHex} from "../hotpath/bytes.js";
import {R3dvError, errorMessage} from "../util/errors.js";
import {
  type Entry,
  type EntryType,
  ENTRY_TYPES,
  ZERO_HASH,
  CHUNK_ENTRY_TYPES,
  chunkEntryBody,
  decodeEntryValue,
  encodeEntryValue,
  entryHash,
  jsonBody,
  keySeq,
  parseJsonBody,
  seqKey,
  storedBytes,
} from "./entry.js";
import {type CompactionBody, type ViewState, applyEntry, emptyViews} from "./views.js";

/**
 * A snapshot of the derived views every this many entries: a restart replays at most this many (~50 ms at
 * ~200k entries/s of fold), and a snapshot (~1-10 KiB of JSON) costs under 1% of the entries it covers.
 */
export const SNAPSHOT_EVERY = 10_000;
/**
 * Compaction starts when the series uses this share of the budget and removes the oldest entries (up to the
 * last snapshot) until it is back under COMPACT_TO. The economic limiter refuses at 80% used (factor 0.2),
 * so compacting from 60% keeps a working node away from refusals.
 */
export const COMPACT_AT = 0.6;
export const COMPACT_TO = 0.4;

/**
 * - `flushed`: the commit is on disk (fsync): survives power loss. For the series' own structure (genesis,
 *   snapshots, compaction records) and, later, slashing protection.
 * - `committed`: the commit is done and visible to every process: survives the process being killed at any
 *   instant (the OS holds the pages), and LMDB's overlapping sync keeps the file consistent on power loss,
 *   losing at most the last unflushed commits. What `accepted` answers wait for: under a flood, fsync latency
 *   (50-100 ms measured here) would otherwise be every peer's latency.
 * - `batched`: not awaited; shares the next commit. A crash loses at most the current event turn's entries.
 */
export type Durability = "flushed" | "committed" | "batched";

export type SeriesErrorType =
  | {code: "SERIES_OTHER_CLUSTER"; dir: string; expected: string; found: string}
  | {code: "SERIES_OTHER_OPERATOR"; dir: string; expected: number; found: number}
  | {code: "SERIES_UNREADABLE"; dir: string; reason: string}
  | {code: "SERIES_CHAIN_BROKEN"; seq: number; reason: string}
  | {code: "SERIES_CLOSED"};
export class SeriesError extends R3dvError<SeriesErrorType> {}

export interface SeriesOptions {
  dir: string;
  lockHash: string;
  operator: number;
  slotsPerEpoch?: number;
  /** Storage budget in bytes (DESIGN.md: default 10 GiB). */
  budgetBytes: number;
  onAppend?: (e: Entry, bytes: number) => void;
}

interface Meta {
  lockHash: string;
  operator: number;
  snapshotSeq?: number;
  /** After a compaction: the first kept entry and the hash its prevHash must equal. */
  anchor?: {seq: number; prevHash: string};
}

/**
 * Entries that are not chunks but belong to a slot (a duty's outcome) share the by-slot index under a
 * "kind" byte above every chunk kind (chunk kinds are < 64), with their seq as the id, so one range read
 * returns everything this node saw and did for a slot.
 */
const TYPED_SLOT_KIND = 0x80;

function typedSlotKey(slot: number, type: EntryType, seq: number): Buffer {
  return slotKey(slot, TYPED_SLOT_KIND + ENTRY_TYPES.indexOf(type), seqKey(seq));
}

/** Key prefix of the by-slot index: slot u64 | kind u8 | chunk id. */
function slotKey(slot: number, kind: number, id: Uint8Array): Buffer {
  const k = Buffer.allocUnsafe(9 + id.length);
  k.writeBigUInt64BE(BigInt(slot));
  k[8] = kind;
  k.set(id, 9);
  return k;
}

/**
 * The node's append-only, hash-chained log in LMDB, and the indexes and views derived from it. Sequence
 * numbers and hashes are assigned synchronously on the main thread, so the chain order is the call order;
 * lmdb-js commits queued writes in that order, so a crash can only lose a suffix, never a hole.
 */
export class Series {
  readonly views: ViewState;
  private lastHash: Uint8Array = ZERO_HASH;
  private pendingBatched = 0;
  private closed = false;
  private compacting = false;

  private constructor(
    private readonly root: RootDatabase,
    private readonly log: Database<Buffer, Buffer>,
    private readonly ids: Database<number, Buffer>,
    private readonly slots: Database<number, Buffer>,
    private readonly meta: Database<Meta, string>,
    private readonly opts: SeriesOptions,
    views: ViewState,
  ) {
    this.views = views;
  }

  static async open(opts: SeriesOptions): Promise<Series> {
    let root: RootDatabase;
    try {
      mkdirSync(opts.dir, {recursive: true, mode: 0o700});
      root = open({path: opts.dir, compression: false});
    } catch (e) {
      throw new SeriesError(
        {code: "SERIES_UNREADABLE", dir: opts.dir, reason: errorMessage(e)},
        `cannot open data dir ${opts.dir}: ${errorMessage(e)}`,
      );
    }
    const log = root.openDB<Buffer, Buffer>({name: "series", keyEncoding: "binary", encoding: "binary"});
    const ids = root.openDB<number, Buffer>({name: "ids", keyEncoding: "binary", encoding: "ordered-binary"});
    const slots = root.openDB<number, Buffer>({name: "slots", keyEncoding: "binary", encoding: "ordered-binary"});
    const meta = root.openDB<Meta, string>({name: "meta", encoding: "json"});
    const m = meta.get("meta");
    if (m && m.lockHash !== opts.lockHash) {
      await root.close();
      throw new SeriesError(
        {code: "SERIES_OTHER_CLUSTER", dir: opts.dir, expected: opts.lockHash, found: m.lockHash},
        `data dir ${opts.dir} belongs to cluster ${m.lockHash}, not to this lock (${opts.lockHash}); ` +
          `point --data-dir at this cluster's data dir, or at an empty directory for a new node`,
      );
    }
    if (m && m.operator !== opts.operator) {
      await root.close();
      throw new SeriesError(
        {code: "SERIES_OTHER_OPERATOR", dir: opts.dir, expected: opts.operator, found: m.operator},
        `data dir ${opts.dir} belongs to operator ${m.operator} of this cluster, not to operator ${opts.operator}; give each node its own data dir`,
      );
    }
    const series = new Series(root, log, ids, slots, meta, opts, emptyViews(opts.slotsPerEpoch ?? 32));
    if (!m) {
      meta.putSync("meta", {lockHash: opts.lockHash, operator: opts.operator});
      await series.append(
        "genesis",
        jsonBody({lockHash: opts.lockHash, operator: opts.operator, version: 1}),
        "flushed",
      );
    } else {
      series.replay(m);
    }
    return series;
  }

  /** Rebuilds the views from the last snapshot and the entries after it: never a full scan on restart. */
  private replay(m: Meta): void {
    const v = this.views;
    let from = 0;
    if (m.snapshotSeq !== undefined) {
      const raw = this.log.get(seqKey(m.snapshotSeq));
      if (raw) {
        Object.assign(v, parseJsonBody<ViewState>(decodeEntryValue(m.snapshotSeq, raw)));
        v.slotsPerEpoch = this.opts.slotsPerEpoch ?? v.slotsPerEpoch;
        from = m.snapshotSeq;
      }
    }
    for (const {key, value} of this.log.getRange({start: seqKey(from)})) {
      const seq = keySeq(key);
      // The snapshot's own entry was appended after its state was taken: fold it too.
      const e = decodeEntryValue(seq, value);
      applyEntry(v, e, storedBytes(e.type, value.length));
      this.lastHash = entryHash(seq, value);
    }
    if (from > 0 && v.lastSeq < from)
      throw new SeriesError({code: "SERIES_CHAIN_BROKEN", seq: from, reason: "snapshot entry missing"});
  }

  get lastSeq(): number {
    return this.views.lastSeq;
  }

  get headHash(): string {
    return toHex(this.lastHash);
  }

  /**
   * Appends one entry and folds it into the views at once; the promise resolves at the chosen durability
   * (see Durability). Callers await it before acting on the entry (answering `accepted`, releasing a signature).
   */
  append(type: EntryType, body: Uint8Array, durability: Durability, slot?: number): Promise<Entry> {
    if (this.closed) return Promise.reject(new SeriesError({code: "SERIES_CLOSED"}, "series is closed"));
    const seq = this.views.lastSeq + 1;
    const e: Entry = {seq, type, t: Date.now(), prevHash: this.lastHash, body};
    const value = encodeEntryValue(e);
    this.lastHash = entryHash(seq, value);
    const written = this.log.put(seqKey(seq), value);
    const bytes = storedBytes(type, value.length);
    if (CHUNK_ENTRY_TYPES.has(type)) this.indexChunk(seq, body);
    else if (slot !== undefined) void this.slots.put(typedSlotKey(slot, type, seq), seq);
    applyEntry(this.views, e, bytes);
    this.opts.onAppend?.(e, bytes);
    if (this.views.entries > 1 && seq % SNAPSHOT_EVERY === 0) void this.snapshot();
    if (durability === "flushed") return written.then(() => this.root.flushed).then(() => e);
    if (durability === "batched") {
      this.pendingBatched++;
      written.finally(() => this.pendingBatched--).catch(() => undefined);
    }
    return written.then(() => e);
  }

  appendChunk(
    type: "chunk_sent" | "chunk_accepted" | "chunk_fetched",
    from: number,
    encoded: Uint8Array,
    durability: Durability,
  ): Promise<Entry> {
    return this.append(type, chunkEntryBody(from, encoded), durability);
  }

  private indexChunk(seq: number, body: Uint8Array): void {
    const encoded = body.subarray(1);
    const id = chunkId(encoded);
    const h = readStoredChunkHeader(encoded);
    void this.ids.put(Buffer.from(id), seq);
    void this.slots.put(slotKey(h.slot, h.kindIndex, id), seq);
  }

  hasChunk(id: Uint8Array): boolean {
    return this.ids.doesExist(Buffer.from(id));
  }

  /** The encoded chunk with this id, or undefined when this node does not hold it. */
  getChunk(id: Uint8Array): Uint8Array | undefined {
    const seq = this.ids.get(Buffer.from(id));
    if (seq === undefined) return undefined;
    const raw = this.log.get(seqKey(seq));
    return raw ? decodeEntryValue(seq, raw).body.subarray(1) : undefined;
  }

  /** Encoded chunks of one slot (optionally one kind index), in series order. */
  chunksBySlot(slot: number, kind?: number, limit = 10_000): Uint8Array[] {
    const start = Buffer.alloc(9);
    start.writeBigUInt64BE(BigInt(slot));
    const end = Buffer.alloc(9);
    end.writeBigUInt64BE(BigInt(slot + 1));
    if (kind !== undefined) {
      start[8] = kind;
      end.writeBigUInt64BE(BigInt(slot));
      end[8] = kind + 1;
    }
    const out: Uint8Array[] = [];
    for (const {value: seq} of this.slots.getRange({start, end, limit})) {
      const raw = this.log.get(seqKey(seq));
      if (raw) out.push(decodeEntryValue(seq, raw).body.subarray(1));
    }
    return out;
  }

  /** Every entry of one slot, in series order: the chunks this node sent and received for it, and its slot-indexed entries. */
  entriesBySlot(slot: number, limit = 100_000): Entry[] {
    const start = Buffer.alloc(9);
    start.writeBigUInt64BE(BigInt(slot));
    const end = Buffer.alloc(9);
    end.writeBigUInt64BE(BigInt(slot + 1));
    const seqs = [...this.slots.getRange({start, end, limit})].map((r) => r.value).sort((a, b) => a - b);
    const out: Entry[] = [];
    for (const seq of seqs) {
      const raw = this.log.get(seqKey(seq));
      if (raw) out.push(decodeEntryValue(seq, raw));
    }
    return out;
  }

  /** The last `n` entries (optionally of one type), newest last. */
  tail(n: number, filter?: (e: Entry) => boolean): Entry[] {
    const out: Entry[] = [];
    for (const {key, value} of this.log.getRange({reverse: true})) {
      const e = decodeEntryValue(keySeq(key), value);
      if (!filter || filter(e)) out.push(e);
      if (out.length >= n) break;
    }
    return out.reverse();
  }

  /** Writes the views as a snapshot entry and points the meta record at it (one commit). */
  async snapshot(): Promise<number> {
    const e = await this.append("snapshot", jsonBody(this.views), "flushed");
    const m = this.meta.get("meta") as Meta;
    await this.meta.put("meta", {...m, snapshotSeq: e.seq});
    return e.seq;
  }

  /**
   * Keeps the series under the budget: removes the oldest entries up to the last snapshot (whose views
   * still count them) and records what went in a `compaction` entry, with the hash of the last removed entry,
   * so the chain still verifies from the anchor and an audit sees exactly what was compacted.
   */
  async compactIfNeeded(): Promise<CompactionBody | undefined> {
    if (this.compacting || this.views.bytesStored < this.opts.budgetBytes * COMPACT_AT) return undefined;
    this.compacting = true;
    try {
      const snapshotSeq = await this.snapshot();
      const target = this.views.bytesStored - this.opts.budgetBytes * COMPACT_TO;
      let removedBytes = 0;
      let removed = 0;
      let fromSeq = -1;
      let toSeq = -1;
      let lastRemovedHash: Uint8Array = ZERO_HASH;
      for (const {key, value} of this.log.getRange({end: seqKey(snapshotSeq)})) {
        const seq = keySeq(key);
        if (removedBytes >= target) break;
        const e = decodeEntryValue(seq, value);
        if (e.type === "genesis") continue;
        if (fromSeq < 0) fromSeq = seq;
        toSeq = seq;
        const bytes = storedBytes(e.type, value.length);
        if (CHUNK_ENTRY_TYPES.has(e.type)) {
          const encoded = e.body.subarray(1);
          const id = chunkId(encoded);
          // The slot row's key read as indexChunk read it when it put the row.
          const h = readStoredChunkHeader(encoded);
          void this.ids.remove(Buffer.from(id));
          void this.slots.remove(slotKey(h.slot, h.kindIndex, id));
        } else if (e.type === "duty_result" || e.type === "duty_inclusion") {
          const slot = parseJsonBody<{slot?: unknown}>(e).slot;
          if (typeof slot === "number") void this.slots.remove(typedSlotKey(slot, e.type, seq));
        }
        void this.log.remove(key);
        lastRemovedHash = entryHash(seq, value);
        removedBytes += bytes;
        removed++;
      }
      if (removed === 0) return undefined;
      const body: CompactionBody = {
        fromSeq,
        toSeq,
        entries: removed,
        bytes: removedBytes,
        lastRemovedHash: toHex(lastRemovedHash),
      };
      const m = this.meta.get("meta") as Meta;
      await this.meta.put("meta", {...m, anchor: {seq: toSeq + 1, prevHash: body.lastRemovedHash}});
      await this.append("compaction", jsonBody(body), "flushed");
      return body;
    } finally {
      this.compacting = false;
    }
  }

  /** The directory, for workers that open the same environment read-only. */
  get dir(): string {
    return this.opts.dir;
  }

  /** Every stored entry in order, raw: what verifyChain walks. */
  rawEntries(): Iterable<{key: Uint8Array; value: Uint8Array}> {
    return this.log.getRange({});
  }

  anchor(): {seq: number; prevHash: string} | undefined {
    return this.meta.get("meta")?.anchor;
  }

  /** Resolves once every queued batched entry is committed and flushed. */
  async flush(): Promise<void> {
    await this.root.flushed;
  }

  get pending(): number {
    return this.pendingBatched;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.root.flushed;
    await this.root.close();
  }
}
