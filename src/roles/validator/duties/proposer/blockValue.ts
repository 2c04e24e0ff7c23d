import type {BeaconConfig} from "@lodestar/config";
import {ForkSeq} from "@lodestar/params";
import {ssz} from "@lodestar/types";
import {type ProducedBlock, type ProposedBlock, isBlinded} from "../../beacon/types.js";

/**
 * The first byte of a builder's (blinded) block as a consensus value. A full block's value from Electra on is its
 * BlockContents, whose SSZ starts with the 4-byte offset of its first field (12, the fixed part's size), so its
 * first byte is always 0x0c: the tag cannot be mistaken for one. A node of the release before builder blocks
 * cannot decode the tagged value and refuses it, so a mixed cluster never signs what one side cannot check.
 */
const BLINDED_TAG = 0xb1;

/**
 * Consensus value of a proposal: the block (or, from Electra, the block contents) as SSZ bytes of the
 * slot's fork type, or a builder's blinded block behind its tag. Deterministic, so every node hashes the
 * leader's proposal to the same value hash.
 */
export function encodeBlockValue(config: BeaconConfig, p: ProposedBlock): Uint8Array {
  if (isBlinded(p)) {
    const body = ssz.electra.BlindedBeaconBlock.serialize(p.blinded);
    const out = new Uint8Array(body.length + 1);
    out[0] = BLINDED_TAG;
    out.set(body, 1);
    return out;
  }
  const types = config.getForkTypes(p.block.slot) as unknown as {
    BeaconBlock: {serialize(v: unknown): Uint8Array};
    BlockContents?: {serialize(v: unknown): Uint8Array};
  };
  if (p.contents) return (types.BlockContents as {serialize(v: unknown): Uint8Array}).serialize(p.contents);
  return types.BeaconBlock.serialize(p.block);
}

export function decodeBlockValue(config: BeaconConfig, slot: number, bytes: Uint8Array): ProposedBlock | null {
  const fork = config.getForkName(slot);
  const types = config.getForkTypes(slot) as unknown as {
    BeaconBlock: {deserialize(b: Uint8Array): ProducedBlock["block"]};
    BlockContents?: {
      deserialize(b: Uint8Array): NonNullable<ProducedBlock["contents"]>;
    };
  };
  try {
    const electra = config.getForkSeq(slot) >= ForkSeq.electra;
    if (electra && bytes[0] === BLINDED_TAG)
      return {fork, blinded: ssz.electra.BlindedBeaconBlock.deserialize(bytes.subarray(1))};
    if (types.BlockContents && electra) {
      const contents = types.BlockContents.deserialize(bytes);
      return {fork, block: contents.block, contents};
    }
    return {fork, block: types.BeaconBlock.deserialize(bytes)};
  } catch {
    return null;
  }
}

/** The block's slot, proposer and parent, the same for a full block and a builder's blinded one. */
export function blockOf(p: ProposedBlock): {slot: number; proposerIndex: number; parentRoot: Uint8Array} {
  return isBlinded(p) ? p.blinded : p.block;
}
