import {R3dvError} from "../../../util/errors.js";
import {encodeQbftMessage} from "./encoding.js";
import {parseInstanceId} from "./instanceId.js";
import type {QbftMessage, QbftType, SignedQbft} from "./types.js";

const TYPES: QbftType[] = ["PRE_PREPARE", "PREPARE", "COMMIT", "ROUND_CHANGE", "DECIDED"];

/**
 * Justifications are at most two quorums (round changes plus prepares); more is a malformed or hostile
 * message. 2 x 255 covers any cluster size the lock allows.
 */
const MAX_JUSTIFICATION = 512;

export type QbftCodecErrorType = {code: "QBFT_MALFORMED"; reason: string};
export class QbftCodecError extends R3dvError<QbftCodecErrorType> {}

/**
 * Wire form of a signed QBFT message, the payload of a `qbft` chunk:
 *   u32 headerLen | header (encodeQbftMessage) | u32 valueLen | value | u8 sigLen | sig | u16 count | (u32 len | signed)*
 * The header is exactly the signed bytes, so decoding re-reads what was signed; no field is parsed twice.
 * Decoding refuses an instance id that is not canonical (`parseInstanceId`).
 */
export function encodeSignedQbft(s: SignedQbft): Uint8Array {
  const header = encodeQbftMessage(s.msg);
  const value = s.msg.value ?? new Uint8Array(0);
  const parts = s.justification.map(encodeSignedQbft);
  const size =
    4 + header.length + 4 + value.length + 1 + s.sig.length + 2 + parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = Buffer.alloc(size);
  let o = out.writeUInt32BE(header.length, 0);
  o += Buffer.from(header).copy(out, o);
  o = out.writeUInt32BE(value.length, o);
  o += Buffer.from(value).copy(out, o);
  o = out.writeUInt8(s.sig.length, o);
  o += Buffer.from(s.sig).copy(out, o);
  o = out.writeUInt16BE(parts.length, o);
  for (const p of parts) {
    o = out.writeUInt32BE(p.length, o);
    o += Buffer.from(p).copy(out, o);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

export function decodeSignedQbft(bytes: Uint8Array, depth = 0): SignedQbft {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  const need = (n: number) => {
    if (o + n > b.length) throw new QbftCodecError({code: "QBFT_MALFORMED", reason: `truncated at byte ${o}`});
  };
  need(4);
  const headerLen = b.readUInt32BE(o);
  o += 4;
  need(headerLen);
  const msg = decodeHeader(b.subarray(o, o + headerLen));
  // Throws InstanceIdError: a peer's message for a non-canonical id never reaches the driver's instance map.
  parseInstanceId(msg.instance);
  o += headerLen;
  need(4);
  const valueLen = b.readUInt32BE(o);
  o += 4;
  need(valueLen);
  msg.value = valueLen > 0 ? new Uint8Array(b.subarray(o, o + valueLen)) : null;
  o += valueLen;
  need(1);
  const sigLen = b.readUInt8(o);
  o += 1;
  need(sigLen);
  const sig = new Uint8Array(b.subarray(o, o + sigLen));
  o += sigLen;
  need(2);
  const count = b.readUInt16BE(o);
  o += 2;
  if (count > MAX_JUSTIFICATION || (depth > 0 && count > 0))
    throw new QbftCodecError({code: "QBFT_MALFORMED", reason: `justification of ${count} at depth ${depth}`});
  const justification: SignedQbft[] = [];
  for (let i = 0; i < count; i++) {
    need(4);
    const len = b.readUInt32BE(o);
    o += 4;
    need(len);
    justification.push(decodeSignedQbft(b.subarray(o, o + len), depth + 1));
    o += len;
  }
  if (o !== b.length) throw new QbftCodecError({code: "QBFT_MALFORMED", reason: `${b.length - o} trailing bytes`});
  return {msg, sig, justification};
}

function decodeHeader(h: Buffer): QbftMessage {
  try {
    let o = 0;
    const instLen = h.readUInt16BE(o);
    o += 2;
    const instance = h.subarray(o, o + instLen).toString("utf8");
    o += instLen;
    const type = TYPES[h.readUInt8(o) - 1];
    o += 1;
    if (!type) throw new Error("unknown message type");
    const round = h.readUInt32BE(o);
    o += 4;
    const sender = h.readUInt16BE(o);
    o += 2;
    const hashLen = h.readUInt8(o);
    o += 1;
    const valueHash = hashLen > 0 ? new Uint8Array(h.subarray(o, o + hashLen)) : null;
    o += hashLen;
    const preparedRound = h.readUInt32BE(o);
    o += 4;
    if (o !== h.length) throw new Error("header length mismatch");
    return {instance, type, round, sender, valueHash, value: null, preparedRound};
  } catch (e) {
    throw new QbftCodecError({code: "QBFT_MALFORMED", reason: (e as Error).message});
  }
}
