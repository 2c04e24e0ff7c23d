/**
 * QBFT (Moniz 2020, "The Istanbul BFT Consensus Algorithm") message types, plus DECIDED: a decided node's
 * proof (the commit quorum) that lets a peer which lost messages decide at once instead of waiting for a
 * round change that decided nodes no longer drive.
 */
export type QbftType = "PRE_PREPARE" | "PREPARE" | "COMMIT" | "ROUND_CHANGE" | "DECIDED";

export interface QbftMessage {
  /** One consensus instance per (slot, duty type): e.g. "attester/1234". */
  instance: string;
  type: QbftType;
  round: number;
  /** 1-based operator index of the signer. */
  sender: number;
  /** Hash of the proposed value; null only in a ROUND_CHANGE of a node that never prepared. */
  valueHash: Uint8Array | null;
  /** The value itself, carried by PRE_PREPARE, COMMIT and a prepared ROUND_CHANGE so any quorum can decide. */
  value: Uint8Array | null;
  /** ROUND_CHANGE only: the round in which the sender prepared (0 = never). */
  preparedRound: number;
}

/** A message and its sender's signature over `encodeQbftMessage(msg)`; justifications are self-verifying. */
export interface SignedQbft {
  msg: QbftMessage;
  sig: Uint8Array;
  /**
   * PRE_PREPARE in round > 1: the quorum of ROUND_CHANGEs and, if any prepared, the PREPARE quorum of the
   * highest prepared round. ROUND_CHANGE with a prepared value: the PREPARE quorum that prepared it.
   */
  justification: SignedQbft[];
}

export interface QbftCrypto {
  sign(msg: QbftMessage): Uint8Array;
  /** Checks `sig` was made by operator `msg.sender` over `msg`. */
  verify(msg: QbftMessage, sig: Uint8Array): boolean;
  hash(value: Uint8Array): Uint8Array;
}

/** Why a proposed value was refused: a short code (a metric label) and what was wrong with this value. */
export interface ValueRefusal {
  reason: string;
  detail: string;
}

export interface QbftConfig {
  instance: string;
  /** Number of operators. */
  n: number;
  /** This node's 1-based operator index. */
  self: number;
  /** Leader of a round, a 1-based operator index. */
  leader(round: number): number;
  /** Absolute time (ms) at which `round` times out; anchored to the slot, identical on every node. */
  roundDeadline(round: number): number;
  /**
   * Application check of a proposed value (e.g. attestation data for the right slot), given its proposer and
   * round; invalid proposals are ignored. A refusal with a reason names why (metrics, duty results); `false`
   * is refused as "invalid proposed value".
   */
  isValid(value: Uint8Array, from: number, round: number): boolean | ValueRefusal;
  crypto: QbftCrypto;
}

export interface QbftOutput {
  /** Messages to push to every peer (this node has already processed them itself). */
  broadcast: SignedQbft[];
  /** Set once, when this node decides. */
  decided?: {value: Uint8Array; round: number};
  /** Messages refused and why, for the series and metrics. */
  rejected: {from: number; type: QbftType | "unknown"; round: number; reason: string}[];
}
