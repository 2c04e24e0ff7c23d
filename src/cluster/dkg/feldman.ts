import {PublicKey} from "@chainsafe/blst";
import {bytesEqual} from "../../hotpath/bytes.js";
import {herumi} from "../../hotpath/herumi.js";
import {secretToPublicKey} from "../../hotpath/threshold.js";

/**
 * Feldman verifiable secret sharing over BLS12-381 with herumi, the library r3dv's Shamir split and Lagrange
 * recovery use (hotpath/threshold.ts): shares are the polynomial at x = i with herumi's Id.setInt(i), so a
 * DKG share is interchangeable with a create-cluster share. Callers must have awaited `initHerumi()`.
 */

/** Bytes of entropy per coefficient: 64 reduced mod r leaves a bias below 2^-256, as threshold.ts does. */
const COEFFICIENT_ENTROPY = 64;

export interface Dealing {
  /** g1^a_k for k = 0..t-1, 48-byte compressed: the public polynomial every operator checks its share against. */
  commitments: Uint8Array[];
  /** f(i) for i = 1..n, 32-byte big-endian scalars: element k goes to operator k+1. */
  shares: Uint8Array[];
}

type Herumi = ReturnType<typeof herumi>;
/** Commitments parsed once into herumi points: every later check and sum reuses them. */
export type CommitmentPoints = InstanceType<Herumi["PublicKey"]>[];

function id(index: number): InstanceType<Herumi["Id"]> {
  const x = new (herumi().Id)();
  x.setInt(index);
  return x;
}

/**
 * A random polynomial of degree t-1 evaluated at 1..n, with its commitments. The coefficients exist only here
 * and are wiped before returning: a dealer later reveals shares, never the polynomial. `secret` fixes the
 * constant term (a reshare deals the dealer's old share, 32 bytes big-endian); a DKG draws it at random.
 */
export function deal(
  threshold: number,
  operators: number,
  random: (bytes: number) => Uint8Array,
  secret?: Uint8Array,
): Dealing {
  const bls = herumi();
  const coefficients: InstanceType<typeof bls.SecretKey>[] = [];
  try {
    if (secret !== undefined) {
      const c = new bls.SecretKey();
      coefficients.push(c);
      c.deserialize(secret);
    }
    while (coefficients.length < threshold) {
      const c = new bls.SecretKey();
      c.setLittleEndianMod(random(COEFFICIENT_ENTROPY));
      // A zero constant term would contribute nothing; a zero top coefficient lowers the degree. Both have
      // probability 2^-255 with a real random source; redrawing keeps the dealing well-formed even so.
      if (c.isZero()) continue;
      coefficients.push(c);
    }
    // blst multiplies by the generator in 0.16 ms, herumi in 0.43 (measured here).
    const commitments = coefficients.map((c) => secretToPublicKey(c.serialize()));
    const shares: Uint8Array[] = [];
    for (let i = 1; i <= operators; i++) {
      const s = new bls.SecretKey();
      s.share(coefficients, id(i));
      shares.push(s.serialize());
      s.clear();
    }
    return {commitments, shares};
  } finally {
    for (const c of coefficients) c.clear();
  }
}

/**
 * Parses commitments, or undefined if one is not a G1 point of the prime-order subgroup or is the identity
 * (blst's key validation, what every Ethereum client applies to a public key): anything else would give group
 * or share keys no client accepts. blst validates in 0.07 ms where herumi's own order check takes 0.4 ms, so
 * herumi reads the already-validated points with its check off (a DKG of 1,000 validators, 7 operators, threshold
 * 5 parses 35,000 per operator).
 */
export function parseCommitments(bytes: Uint8Array[]): CommitmentPoints | undefined {
  const bls = herumi();
  const uncompressed: Uint8Array[] = [];
  for (const b of bytes) {
    try {
      if (b.length !== 48) return undefined;
      // Uncompressed (ZCash format, as herumi's eth mode reads it): herumi skips the square root it would redo.
      uncompressed.push(PublicKey.fromBytes(b, true).toBytes(false));
    } catch {
      return undefined;
    }
  }
  // Herumi's default (on) is restored at once: the rest of r3dv parses untrusted keys with it.
  bls.verifyPublicKeyOrder(false);
  try {
    return uncompressed.map((u) => {
      const p = new bls.PublicKey();
      p.deserializeUncompressed(u);
      return p;
    });
  } finally {
    bls.verifyPublicKeyOrder(true);
  }
}

/** sum_k C_k * i^k: the public key share i must have under these commitments, 48-byte compressed. */
export function evaluateCommitments(commitments: CommitmentPoints, index: number): Uint8Array {
  const out = new (herumi().PublicKey)();
  out.share(commitments, id(index));
  return out.serialize();
}

/** Feldman's check: g1^share == sum_k C_k * index^k. A malformed scalar is just "invalid". */
export function verifyShare(commitments: CommitmentPoints, index: number, share: Uint8Array): boolean {
  let pubkey: Uint8Array;
  try {
    pubkey = secretToPublicKey(share);
  } catch {
    return false;
  }
  return bytesEqual(pubkey, evaluateCommitments(commitments, index));
}

/** Coefficient-wise sum of several dealers' commitments: the commitments of the sum of their polynomials. */
export function addCommitments(sets: CommitmentPoints[]): CommitmentPoints {
  const first = sets[0];
  if (first === undefined) throw new Error("addCommitments needs at least one set");
  return first.map((point, k) => {
    const acc = point.clone();
    for (const set of sets.slice(1)) acc.add(set[k] as (typeof set)[number]);
    return acc;
  });
}

/**
 * Coefficient-wise Lagrange combination at x = 0 of several dealers' commitments, dealer k weighted for its
 * x coordinate `at[k]`: a reshare's new public polynomial, whose constant term is the old one's value at 0.
 */
export function interpolateCommitments(sets: CommitmentPoints[], at: number[]): CommitmentPoints {
  const first = sets[0];
  if (first === undefined) throw new Error("interpolateCommitments needs at least one set");
  const xs = at.map(id);
  return first.map((_, k) => {
    const out = new (herumi().PublicKey)();
    out.recover(
      sets.map((set) => set[k] as (typeof set)[number]),
      xs,
    );
    return out;
  });
}

/** Lagrange combination at x = 0 of scalars, share k weighted for x = at[k]: a reshare receiver's new share. */
export function interpolateShares(shares: Uint8Array[], at: number[]): Uint8Array {
  const bls = herumi();
  const secrets = shares.map((b) => {
    const s = new bls.SecretKey();
    s.deserialize(b);
    return s;
  });
  const out = new bls.SecretKey();
  try {
    out.recover(secrets, at.map(id));
    return out.serialize();
  } finally {
    out.clear();
    for (const s of secrets) s.clear();
  }
}

/** Sum of scalars mod r: an operator's final share is the sum of the shares qualified dealers gave it. */
export function addShares(shares: Uint8Array[]): Uint8Array {
  const bls = herumi();
  const acc = new bls.SecretKey();
  const s = new bls.SecretKey();
  try {
    for (const [k, share] of shares.entries()) {
      s.deserialize(share);
      if (k === 0) acc.deserialize(share);
      else acc.add(s);
    }
    return acc.serialize();
  } finally {
    acc.clear();
    s.clear();
  }
}
