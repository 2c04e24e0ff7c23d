import {toHex} from "../../hotpath/bytes.js";

/**
 * Fields read straight from SSZ bytes, before (or without) decoding: the slot says which fork's type decodes the
 * rest, and the parent root lets the follower walk a chain back without decoding each block on the main thread.
 * The offsets are the spec's containers: a SignedBeaconBlock is the message's 4-byte offset and the 96-byte
 * signature, then the message's slot (8) and proposer index (8) and parent root (32); a BeaconState starts
 * with genesis_time (8) and genesis_validators_root (32), then the slot.
 */
const SIGNED_BLOCK_SLOT = 100;
const SIGNED_BLOCK_PARENT_ROOT = 116;
const STATE_SLOT = 40;

function u64(bytes: Uint8Array, offset: number): number | null {
  if (bytes.length < offset + 8) return null;
  return Number(new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getBigUint64(0, true));
}

/** A serialized SignedBeaconBlock's slot and parent root; null when the bytes are too short to be one. */
export function signedBlockHeader(bytes: Uint8Array): {slot: number; parentRoot: string} | null {
  const slot = u64(bytes, SIGNED_BLOCK_SLOT);
  if (slot === null || bytes.length < SIGNED_BLOCK_PARENT_ROOT + 32) return null;
  return {slot, parentRoot: toHex(bytes.subarray(SIGNED_BLOCK_PARENT_ROOT, SIGNED_BLOCK_PARENT_ROOT + 32))};
}

/** A serialized BeaconState's slot; null when the bytes are too short to be one. */
export function stateSlot(bytes: Uint8Array): number | null {
  return u64(bytes, STATE_SLOT);
}
