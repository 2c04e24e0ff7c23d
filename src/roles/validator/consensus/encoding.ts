import type {QbftMessage, QbftType} from "./types.js";

const TYPE_CODES: Record<QbftType, number> = {PRE_PREPARE: 1, PREPARE: 2, COMMIT: 3, ROUND_CHANGE: 4, DECIDED: 5};

/**
 * The bytes a QBFT message's signature covers: every field but the value itself, which is bound through
 * `valueHash` (receivers check the value hashes to it). Fixed layout, hand-written because it is 20 lines
 * and must never change between versions of a serialisation library.
 */
export function encodeQbftMessage(msg: QbftMessage): Uint8Array {
  const instance = Buffer.from(msg.instance, "utf8");
  const hashLen = msg.valueHash ? msg.valueHash.length : 0;
  const out = Buffer.alloc(2 + instance.length + 1 + 4 + 2 + 1 + hashLen + 4);
  let o = out.writeUInt16BE(instance.length, 0);
  o += instance.copy(out, o);
  o = out.writeUInt8(TYPE_CODES[msg.type], o);
  o = out.writeUInt32BE(msg.round, o);
  o = out.writeUInt16BE(msg.sender, o);
  o = out.writeUInt8(hashLen, o);
  if (msg.valueHash) o += Buffer.from(msg.valueHash).copy(out, o);
  out.writeUInt32BE(msg.preparedRound, o);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
