import {PublicKey} from "@chainsafe/blst";
import {herumi} from "../../hotpath/herumi.js";

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

function id(index: number): InstanceType<ReturnType<typeof herumi>["Id"]> {
  const x = new (herumi().Id)();
  x.setInt(index);
  return x;
}

/**
 * A random polynomial of degree t-1 evaluated at 1..n, with its commitments. The coefficients exist only here
 * and are wiped before returning: a dealer later reveals shares, never the polynomial.
 */
export function deal(threshold: number, operators: number, random: (bytes: number) => Uint8Array): Dealing {
  const bls = herumi();
  const coefficients: InstanceType<typeof bls.SecretKey>[] = [];
  try {
    while (coefficients.length < threshold) {
      const c = new bls.SecretKey();
      c.setLittleEndianMod(random(COEFFICIENT_ENTROPY));
      // A zero constant term would contribute nothing; a zero top coefficient lowers the degree. Both have
      // probability 2^-255 with a real random source; redrawing keeps the dealing well-formed even so.
      if (c.isZero()) continue;
      coefficients.push(c);
    }
    const commitments = coefficients.map((c) => c.getPublicKey().serialize());
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
 * A commitment must be a G1 point of the prime-order subgroup and not the identity (blst's key validation, what
 * every Ethereum client applies to a public key): anything else would make group or share keys no client accepts.
 */
export function isValidCommitment(bytes: Uint8Array): boolean {
  try {
    PublicKey.fromBytes(bytes, true);
    return bytes.length === 48;
  } catch {
    return false;
  }
}

/** sum_k C_k * i^k: the public key share i must have under these commitments. */
export function evaluateCommitments(commitments: Uint8Array[], index: number): Uint8Array {
  const bls = herumi();
  const points = commitments.map((c) => {
    const p = new bls.PublicKey();
    p.deserialize(c);
    return p;
  });
  const out = new bls.PublicKey();
  out.share(points, id(index));
  return out.serialize();
}

/** Feldman's check: g1^share == sum_k C_k * index^k. A malformed scalar is just "invalid". */
export function verifyShare(commitments: Uint8Array[], index: number, share: Uint8Array): boolean {
  const bls = herumi();
  const s = new bls.SecretKey();
  try {
    s.deserialize(share);
  } catch {
    return false;
  }
  const expected = new bls.PublicKey();
  expected.deserialize(evaluateCommitments(commitments, index));
  const ok = s.getPublicKey().isEqual(expected);
  s.clear();
  return ok;
}

/** Coefficient-wise sum of several dealers' commitments: the commitments of the sum of their polynomials. */
export function addCommitments(sets: Uint8Array[][]): Uint8Array[] {
  const bls = herumi();
  const first = sets[0];
  if (first === undefined) throw new Error("addCommitments needs at least one set");
  return first.map((_, k) => {
    const acc = new bls.PublicKey();
    acc.deserialize(first[k] as Uint8Array);
    for (const set of sets.slice(1)) {
      const p = new bls.PublicKey();
      p.deserialize(set[k] as Uint8Array);
      acc.add(p);
    }
    return acc.serialize();
  });
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
