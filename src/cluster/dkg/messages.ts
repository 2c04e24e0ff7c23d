import {createHash} from "node:crypto";

/**
 * The DKG's messages as the state machine sees them: typed objects with raw bytes. Encoding them for a wire is
 * the transport's job; `from` is the sender's operator index, which the transport must authenticate (the
 * libp2p connection's peer id), so only relayed content (a dealer's commitments digest, a share given as
 * evidence) carries the dealer's own identity signature.
 */

/** The rounds in order; the transport moves a ceremony to the next when all its messages are in or time is up. */
export const DKG_ROUNDS = ["hello", "deal", "echo", "complaint", "answer"] as const;
export type DkgRound = (typeof DKG_ROUNDS)[number];

/** A dealer's identity signature over the digest of the commitments it dealt (dealDigest). */
export interface SignedDigest {
  digest: Uint8Array;
  signature: Uint8Array;
}

export interface SignedShares {
  /** One 32-byte scalar per validator: the dealer's polynomial for that validator at the recipient's index. */
  shares: Uint8Array[];
  /** The dealer's identity signature over shareDigest(...). */
  signature: Uint8Array;
}

export type ComplaintReason = "missing_deal" | "missing_share" | "bad_share";

export interface Complaint {
  dealer: number;
  reason: ComplaintReason;
  /** For bad_share: what the complainer received, so everyone can check it against the commitments. */
  evidence?: SignedShares;
}

/** Two different commitment sets both signed by one dealer: proof that it sent different operators different deals. */
export interface Equivocation {
  dealer: number;
  a: SignedDigest;
  b: SignedDigest;
}

export interface Deal {
  /** [validator][k]: the dealer's commitments g1^a_k, k = 0..threshold-1, 48-byte compressed. */
  commitments: Uint8Array[][];
  /** The dealer's identity signature over dealDigest(...). */
  signature: Uint8Array;
}

export type DkgMessage =
  /**
   * Every operator signs the definition hash it holds; any difference stops the ceremony. Which run of an operator
   * sent it is the transport's business (attempts.ts).
   */
  | {kind: "hello"; from: number; definitionHash: Uint8Array; signature: Uint8Array}
  /** Broadcast. */
  | ({kind: "deal"; from: number} & Deal)
  /** Point to point, over the encrypted channel: the recipient's shares from this dealer. */
  | ({kind: "share"; from: number; to: number} & SignedShares)
  /** Broadcast: the signed digest of each dealer's commitments as this operator received them (null: none). */
  | {kind: "echo"; from: number; deals: (SignedDigest | null)[]}
  | {kind: "complaint"; from: number; complaints: Complaint[]; equivocations: Equivocation[]}
  /** Broadcast by every operator (empty when unaccused), so nobody waits for a timeout when all are honest. */
  | {kind: "answer"; from: number; reveals: {to: number; shares: Uint8Array[]}[]; deal?: Deal};

export const roundOf = (kind: DkgMessage["kind"]): DkgRound => (kind === "share" ? "deal" : kind);

/** Domain prefixes: the identity key also signs chunks, QBFT messages and locks; no signature may pass for another. */
const HELLO_DOMAIN = Buffer.from("r3dv-dkg-definition/v1");
const DEAL_DOMAIN = Buffer.from("r3dv-dkg-deal/v1");
const SHARE_DOMAIN = Buffer.from("r3dv-dkg-share/v1");

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

export function helloBytes(definitionHash: Uint8Array): Uint8Array {
  return Buffer.concat([HELLO_DOMAIN, definitionHash]);
}

/** Binds the commitments to the ceremony (definition hash) and the dealer, so no deal can be replayed elsewhere. */
export function dealDigest(definitionHash: Uint8Array, dealer: number, commitments: Uint8Array[][]): Uint8Array {
  const h = createHash("sha256").update(DEAL_DOMAIN).update(definitionHash).update(u16(dealer));
  h.update(u16(commitments.length));
  for (const perValidator of commitments) {
    h.update(u16(perValidator.length));
    for (const c of perValidator) h.update(c);
  }
  return h.digest();
}

export function shareDigest(definitionHash: Uint8Array, dealer: number, to: number, shares: Uint8Array[]): Uint8Array {
  const h = createHash("sha256").update(SHARE_DOMAIN).update(definitionHash).update(u16(dealer)).update(u16(to));
  h.update(u16(shares.length));
  for (const s of shares) h.update(s);
  return h.digest();
}
