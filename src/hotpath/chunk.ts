import {createHash} from "node:crypto";
import {R3dvError} from "../util/errors.js";

/**
 * Chunk kinds, as one byte on the wire. Numbers are part of the format: append new kinds, never renumber.
 * `probe` carries no duty: operators and tests use it to exercise the push path end to end.
 */
export const CHUNK_KINDS = [
  "eth_block",
  "qbft",
  "partial_sig",
  "duty_result",
  "limiter_decision",
  "probe",
  "partial_exit",
] as const;
export type ChunkKind = (typeof CHUNK_KINDS)[number];

/** Kinds a cluster must not lose: replicated to k peers, announced in the DHT, fetched back after a restart. */
export const DURABLE_KINDS: ReadonlySet<ChunkKind> = new Set<ChunkKind>([
  "eth_block",
  "partial_sig",
  "duty_result",
  "probe",
  // An operator's signed share of a voluntary exit may wait days for the others': it must outlive restarts.
  "partial_exit",
]);

export function isChunkKind(s: string): s is ChunkKind {
  return (CHUNK_KINDS as readonly string[]).includes(s);
}

export interface Chunk {
  kind: ChunkKind;
  slot: number;
  /** The origin's 1-based operator index in the lock: one byte instead of a 38-byte peer id. */
  origin: number;
  /** The origin's own counter, so a receiver sees gaps and replays from one origin. */
  seq: number;
  /** Origin's wall clock at creation, ms since the epoch. */
  t: number;
  payload: Uint8Array;
  /** Ed25519 signature of the origin's libp2p identity over signingBytes(). */
  sig: Uint8Array;
}

export type ChunkErrorType =
  | {code: "CHUNK_TRUNCATED"; length: number; needed: number}
  | {code: "CHUNK_BAD_VERSION"; version: number}
  | {code: "CHUNK_BAD_KIND"; kind: number}
  | {code: "CHUNK_BAD_FIELD"; field: string; reason: string}
  | {code: "CHUNK_TRAILING_BYTES"; extra: number};
export class ChunkError extends R3dvError<ChunkErrorType> {}

/**
 * Canonical encoding (all integers big-endian):
 *   version u8 | kind u8 | origin u8 | slot u64 | seq u64 | t u64 | payloadLen u32 | payload | sigLen u8 | sig
 * Fixed-width header plus length-prefixed variable fields: exactly one encoding per chunk (so the id is
 * well-defined), decodable without a schema, 32 bytes of overhead against ~150 for JSON or SSZ-with-offsets,
 * and the header (kind, slot, origin) is readable at fixed offsets before anything is allocated.
 */
export const CHUNK_VERSION = 1;
/** Where each header field starts (the layout above): the only place in the code that knows these offsets. */
const AT = {version: 0, kind: 1, origin: 2, slot: 3, seq: 11, t: 19, payloadLength: 27} as const;
const HEADER_LEN = AT.payloadLength + 4;
/**
 * 1 MiB: a chunk carries one message (a block view, a consensus step, a partial signature: hundreds of
 * bytes); blocks themselves come from the beacon node, never through peers. Anything bigger is an attack.
 */
export const MAX_PAYLOAD_BYTES = 1 << 20;
/**
 * Payload caps per kind, checked from the header before a signature is verified. A kind's cap is the most an
 * honest node puts in one chunk of it, with room to spare: partial_sig batches carry one ~400-byte partial per
 * validator (1 MiB: ~2,600 validators in one chunk); qbft steps carry a justification of up to 512 signed
 * messages; block views and duty results are a header and a few roots; probes are operators' test messages; a
 * partial exit is one validator's exit message and one share signature.
 */
export const MAX_PAYLOAD_BY_KIND: Readonly<Record<ChunkKind, number>> = {
  eth_block: 64 * 1024,
  qbft: MAX_PAYLOAD_BYTES,
  partial_sig: MAX_PAYLOAD_BYTES,
  duty_result: 64 * 1024,
  limiter_decision: 64 * 1024,
  probe: 64 * 1024,
  // One partial exit (~250 bytes of JSON) per chunk.
  partial_exit: 4 * 1024,
};
/** Ed25519 signatures are 64 bytes; the length byte leaves room for another key type in a later version. */
const MAX_SIG_LEN = 255;

/** Domain prefix of the signed message, so an identity signature made for anything else is never a valid chunk. */
const SIGNING_DOMAIN = Buffer.from("r3dv-chunk/v1", "utf8");

function checkInt(field: string, v: number, max: number): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > max) {
    throw new ChunkError({code: "CHUNK_BAD_FIELD", field, reason: `must be an integer in [0, ${max}], got ${v}`});
  }
}

function writeBody(c: Omit<Chunk, "sig">, out: Buffer): number {
  checkInt("origin", c.origin, 255);
  checkInt("slot", c.slot, Number.MAX_SAFE_INTEGER);
  checkInt("seq", c.seq, Number.MAX_SAFE_INTEGER);
  checkInt("t", c.t, Number.MAX_SAFE_INTEGER);
  if (c.payload.length > MAX_PAYLOAD_BYTES) {
    throw new ChunkError({
      code: "CHUNK_BAD_FIELD",
      field: "payload",
      reason: `${c.payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`,
    });
  }
  const kind = CHUNK_KINDS.indexOf(c.kind);
  if (kind < 0)
    throw new ChunkError({code: "CHUNK_BAD_FIELD", field: "kind", reason: `unknown kind ${String(c.kind)}`});
  out[AT.version] = CHUNK_VERSION;
  out[AT.kind] = kind;
  out[AT.origin] = c.origin;
  out.writeBigUInt64BE(BigInt(c.slot), AT.slot);
  out.writeBigUInt64BE(BigInt(c.seq), AT.seq);
  out.writeBigUInt64BE(BigInt(c.t), AT.t);
  out.writeUInt32BE(c.payload.length, AT.payloadLength);
  out.set(c.payload, HEADER_LEN);
  return HEADER_LEN + c.payload.length;
}

/** The bytes the origin signs: domain | cluster lock hash | body. The lock hash keeps a chunk inside its cluster. */
export function signingBytes(c: Omit<Chunk, "sig">, lockHash: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(SIGNING_DOMAIN.length + lockHash.length + HEADER_LEN + c.payload.length);
  SIGNING_DOMAIN.copy(out, 0);
  out.set(lockHash, SIGNING_DOMAIN.length);
  writeBody(c, out.subarray(SIGNING_DOMAIN.length + lockHash.length));
  return out;
}

export function encodeChunk(c: Chunk): Uint8Array {
  if (c.sig.length > MAX_SIG_LEN)
    throw new ChunkError({code: "CHUNK_BAD_FIELD", field: "sig", reason: `${c.sig.length} bytes`});
  const out = Buffer.allocUnsafe(HEADER_LEN + c.payload.length + 1 + c.sig.length);
  const n = writeBody(c, out);
  out[n] = c.sig.length;
  out.set(c.sig, n + 1);
  return out;
}

/** Header fields at fixed offsets, read without decoding or allocating (used before a chunk is queued). */
export interface ChunkHeader {
  kind: ChunkKind;
  origin: number;
  slot: number;
}

/** Every header field as its bytes say, unchecked: what the readers below check, each as much as it needs. */
function rawHeader(b: Buffer) {
  return {
    version: b[AT.version] as number,
    kindIndex: b[AT.kind] as number,
    origin: b[AT.origin] as number,
    slot: b.readBigUInt64BE(AT.slot),
    seq: b.readBigUInt64BE(AT.seq),
    t: b.readBigUInt64BE(AT.t),
    payloadLength: b.readUInt32BE(AT.payloadLength),
  };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The header without decoding the rest: what admission reads before it spends a signature check. */
export function readChunkHeader(bytes: Uint8Array): ChunkHeader & {payloadLength: number} {
  if (bytes.length < HEADER_LEN)
    throw new ChunkError({code: "CHUNK_TRUNCATED", length: bytes.length, needed: HEADER_LEN});
  const h = rawHeader(asBuffer(bytes));
  const kind = CHUNK_KINDS[h.kindIndex];
  if (kind === undefined) throw new ChunkError({code: "CHUNK_BAD_KIND", kind: h.kindIndex});
  if (h.slot > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ChunkError({code: "CHUNK_BAD_FIELD", field: "slot", reason: "exceeds 2^53"});
  return {kind, origin: h.origin, slot: Number(h.slot), payloadLength: h.payloadLength};
}

/** The header of a chunk this node already holds; `kind` is undefined for a kind byte this version does not know. */
export interface StoredChunkHeader {
  kind: ChunkKind | undefined;
  /** The kind's byte, as the series' slot index orders chunks. */
  kindIndex: number;
  origin: number;
  slot: number;
  seq: number;
}

/**
 * The header of a chunk from this node's own series, read at its fixed offsets with no check beyond its length:
 * every stored chunk was decoded (or encoded) on its way in, and the series' indexes and folds read it for every
 * entry, where a full decode would check again what admission checked.
 */
export function readStoredChunkHeader(bytes: Uint8Array): StoredChunkHeader {
  if (bytes.length < HEADER_LEN)
    throw new ChunkError({code: "CHUNK_TRUNCATED", length: bytes.length, needed: HEADER_LEN});
  const h = rawHeader(asBuffer(bytes));
  return {
    kind: CHUNK_KINDS[h.kindIndex],
    kindIndex: h.kindIndex,
    origin: h.origin,
    slot: Number(h.slot),
    seq: Number(h.seq),
  };
}

export function decodeChunk(bytes: Uint8Array): Chunk {
  const b = asBuffer(bytes);
  if (b.length < HEADER_LEN + 1)
    throw new ChunkError({code: "CHUNK_TRUNCATED", length: b.length, needed: HEADER_LEN + 1});
  const h = rawHeader(b);
  if (h.version !== CHUNK_VERSION) throw new ChunkError({code: "CHUNK_BAD_VERSION", version: h.version});
  const kind = CHUNK_KINDS[h.kindIndex];
  if (kind === undefined) throw new ChunkError({code: "CHUNK_BAD_KIND", kind: h.kindIndex});
  for (const field of ["slot", "seq", "t"] as const) {
    if (h[field] > BigInt(Number.MAX_SAFE_INTEGER))
      throw new ChunkError({code: "CHUNK_BAD_FIELD", field, reason: "exceeds 2^53"});
  }
  if (h.payloadLength > MAX_PAYLOAD_BYTES)
    throw new ChunkError({code: "CHUNK_BAD_FIELD", field: "payload", reason: `${h.payloadLength} bytes`});
  const sigAt = HEADER_LEN + h.payloadLength;
  if (b.length < sigAt + 1) throw new ChunkError({code: "CHUNK_TRUNCATED", length: b.length, needed: sigAt + 1});
  const sigLen = b[sigAt] as number;
  const end = sigAt + 1 + sigLen;
  if (b.length < end) throw new ChunkError({code: "CHUNK_TRUNCATED", length: b.length, needed: end});
  if (b.length > end) throw new ChunkError({code: "CHUNK_TRAILING_BYTES", extra: b.length - end});
  return {
    kind,
    origin: h.origin,
    slot: Number(h.slot),
    seq: Number(h.seq),
    t: Number(h.t),
    payload: b.subarray(HEADER_LEN, sigAt),
    sig: b.subarray(sigAt + 1, end),
  };
}

/** SHA-256 of the canonical encoding (signature included: Ed25519 is deterministic, so one chunk has one id). */
export function chunkId(encoded: Uint8Array): Uint8Array {
  return createHash("sha256").update(encoded).digest();
}

/** Bytes of the encoding without the signature, for the signature check on an already-decoded chunk. */
export function chunkEncodedLength(c: Chunk): number {
  return HEADER_LEN + c.payload.length + 1 + c.sig.length;
}
