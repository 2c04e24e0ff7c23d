import type {BeaconBlock, Epoch, Slot, electra, phase0} from "@lodestar/types";
import type {ForkName} from "@lodestar/params";

/* What the Beacon API client (beaconNode.ts) gives the duties and takes from them, in the duties' own terms. */

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
