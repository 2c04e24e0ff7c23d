import type {BeaconConfig} from "@lodestar/config";
import {ForkSeq} from "@lodestar/params";
import type {ProducedBlock} from "../../beacon/types.js";

/**
 * Consensus value of a proposal: the block (or, from Electra, the block contents) as SSZ bytes of the
 * slot's fork type. Deterministic, so every node hashes the leader's proposal to the same value hash.
 */
export function encodeBlockValue(config: BeaconConfig, p: ProducedBlock): Uint8Array {
  const types = config.getForkTypes(p.block.slot) as unknown as {
    BeaconBlock: {serialize(v: unknown): Uint8Array};
    BlockContents?: {serialize(v: unknown): Uint8Array};
  };
  if (p.contents) return (types.BlockContents as {serialize(v: unknown): Uint8Array}).serialize(p.contents);
  return types.BeaconBlock.serialize(p.block);
}

export function decodeBlockValue(config: BeaconConfig, slot: number, bytes: Uint8Array): ProducedBlock | null {
  const fork = config.getForkName(slot);
  const types = config.getForkTypes(slot) as unknown as {
    BeaconBlock: {deserialize(b: Uint8Array): ProducedBlock["block"]};
    BlockContents?: {deserialize(b: Uint8Array): NonNullable<ProducedBlock["contents"]>};
  };
  try {
    if (types.BlockContents && config.getForkSeq(slot) >= ForkSeq.electra) {
      const contents = types.BlockContents.deserialize(bytes);
      return {fork, block: contents.block, contents};
    }
    return {fork, block: types.BeaconBlock.deserialize(bytes)};
  } catch {
    return null;
  }
}
