import type {BeaconBlock, Epoch, Slot, electra, phase0} from "@lodestar/types";
import type {ForkName} from "@lodestar/params";

/* What the Beacon API client (beaconNode.ts, blockProduction.ts) gives the duties and takes from them, in the duties' own terms. */

export interface AttesterDuty {
  pubkey: string;
  validatorIndex: number;
  committeeIndex: number;
  committeeLength: number;
  committeesAtSlot: number;
  validatorCommitteeIndex: number;
  slot: Slot;
}

export interface ProposerDuty {
  pubkey: string;
  validatorIndex: number;
  slot: Slot;
}

export interface ProducedBlock {
  fork: ForkName;
  block: BeaconBlock;
  /** Electra and later: the contents (blobs and proofs) that publishing needs beside the signed block. */
  contents?: electra.BlockContents;
}

/**
 * A builder's block (`produceBlockV3` with `execution_payload_blinded`): its payload is only a header until the
 * signed block is published, when the builder reveals the payload. Same hash tree root as the full block.
 */
export interface ProducedBlindedBlock {
  fork: ForkName;
  blinded: electra.BlindedBeaconBlock;
}

/** What a beacon node proposes for a slot: a full block, or with the builder API a builder's blinded one. */
export type ProposedBlock = ProducedBlock | ProducedBlindedBlock;

export function isBlinded(p: ProposedBlock): p is ProducedBlindedBlock {
  return "blinded" in p;
}

/** One validator's signed attestation, in the shape both the v1 (pre-Electra) and v2 (Electra) pools derive from. */
export interface SignedAttestationInput {
  data: phase0.AttestationData;
  validatorIndex: number;
  committeeIndex: number;
  committeeLength: number;
  validatorCommitteeIndex: number;
  signature: Uint8Array;
}

export interface ProposerPreparation {
  validatorIndex: number;
  /** 0x hex execution address. */
  feeRecipient: string;
}

export interface SyncDuty {
  pubkey: string;
  validatorIndex: number;
  /** Every position the validator holds in the sync committee (small committees repeat members). */
  validatorSyncCommitteeIndices: number[];
}

export interface BeaconCommitteeSubscription {
  validatorIndex: number;
  committeeIndex: number;
  committeesAtSlot: number;
  slot: Slot;
  isAggregator: boolean;
}

export interface SyncCommitteeSubscription {
  validatorIndex: number;
  syncCommitteeIndices: number[];
  untilEpoch: Epoch;
}
