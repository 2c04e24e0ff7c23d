import {createHash} from "node:crypto";
import {R3dvError} from "../util/errors.js";

/**
 * Series entry types, one byte in the stored value. Numbers are part of the on-disk format: append only.
 */
export const ENTRY_TYPES = [
  "genesis",
  "chunk_sent",
  "chunk_accepted",
  "chunk_refused",
  "chunk_fetched",
  "peer_event",
  "rate_limited",
  "snapshot",
  "compaction",
  // Append only: the index of a type is its byte on disk.
  "duty_result",
  "duty_inclusion",
  "beacon_health",
  "doppelganger",
  "block_verdict",
  "block_view_contradiction",
] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];

/** Entry types whose body is an encoded chunk preceded by the sending peer's operator index. */
export const CHUNK_ENTRY_TYPES: ReadonlySet<EntryType> = new Set<EntryType>([
  "chunk_sent",
  "chunk_accepted",
  "chunk_fetched",
]);

export interface Entry {
  seq: number;
  type: EntryType;
  /** ms since the epoch, when the node appended it. */
  t: number;
  prevHash: Uint8Array;
  body: Uint8Array;
}

export type EntryErrorType = {code: "ENTRY_CORRUPT"; seq: number; reason: string};
export class EntryError extends R3dvError<EntryErrorType> {}

/** Stored value: prevHash (32) | type u8 | t u64 | body. The key is the big-endian u64 seq, so LMDB's byte order is log order. */
const VALUE_HEADER = 32 + 1 + 8;
export const ZERO_HASH = new Uint8Array(32);

export function seqKey(seq: number): Buffer {
  const k = Buffer.allocUnsafe(8);
  k.writeBigUInt64BE(BigInt(seq));
  return k;
}

export function keySeq(key: Uint8Array): number {
  return Number(Buffer.from(key.buffer, key.byteOffset, key.byteLength).readBigUInt64BE(0));
}

export function encodeEntryValue(e: Omit<Entry, "seq">): Buffer {
  const v = Buffer.allocUnsafe(VALUE_HEADER + e.body.length);
  v.set(e.prevHash, 0);
  v[32] = ENTRY_TYPES.indexOf(e.type);
  v.writeBigUInt64BE(BigInt(e.t), 33);
  v.set(e.body, VALUE_HEADER);
  return v;
}

export function decodeEntryValue(seq: number, value: Uint8Array): Entry {
  const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (v.length < VALUE_HEADER)
    throw new EntryError({code: "ENTRY_CORRUPT", seq, reason: `${v.length} bytes`}, `series entry ${seq} is truncated`);
  const type = ENTRY_TYPES[v[32] as number];
  if (type === undefined)
    throw new EntryError(
      {code: "ENTRY_CORRUPT", seq, reason: `type ${v[32]}`},
      `series entry ${seq} has unknown type ${v[32]}`,
    );
  return {seq, type, t: Number(v.readBigUInt64BE(33)), prevHash: v.subarray(0, 32), body: v.subarray(VALUE_HEADER)};
}

/** Hash of an entry: SHA-256 over its key and value, so neither a reordering nor an edit survives verification. */
export function entryHash(seq: number, value: Uint8Array): Uint8Array {
  return createHash("sha256").update(seqKey(seq)).update(value).digest();
}

/** Body of a chunk entry: the operator index it came from (0 = this node) then the encoded chunk. */
export function chunkEntryBody(fromOperator: number, encodedChunk: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(1 + encodedChunk.length);
  b[0] = fromOperator;
  b.set(encodedChunk, 1);
  return b;
}

export function jsonBody(o: unknown): Buffer {
  return Buffer.from(JSON.stringify(o), "utf8");
}

export function parseJsonBody<T>(e: Entry): T {
  return JSON.parse(Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength).toString("utf8")) as T;
}

/** Index rows a chunk entry adds: id (32) -> seq (8), and slot|kind|id (41) -> seq (8). */
export const CHUNK_INDEX_BYTES = 40 + 49;

/** What an entry costs against the storage budget: key, value and, for chunks, their index rows. */
export function storedBytes(type: EntryType, valueLength: number): number {
  return 8 + valueLength + (CHUNK_ENTRY_TYPES.has(type) ? CHUNK_INDEX_BYTES : 0);
}
