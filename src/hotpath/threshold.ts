import {PublicKey, SecretKey, Signature, verify} from "@chainsafe/blst";
import {randomBytes} from "node:crypto";
import {R3dvError} from "../util/errors.js";
import {herumi} from "./herumi.js";
import {combine, recoveryPlan} from "./lagrange.js";

/**
 * m-of-n threshold BLS over BLS12-381: Shamir shares of the secret key (share i is the polynomial at x = i,
 * 1-based), Lagrange recovery of signatures and public keys in the exponent (herumi, fast), verification
 * with blst (the library every Ethereum client trusts). Callers must have awaited `initHerumi()`.
 */

export interface PartialSignature {
  /** 1-based share index: the x at which the share's polynomial was evaluated. */
  shareIndex: number;
  /** 96-byte compressed G2 signature by that share. */
  signature: Uint8Array;
}

export type ThresholdErrorType =
  | {code: "THRESHOLD_INVALID_PARAMS"; threshold: number; shares: number}
  | {code: "THRESHOLD_INVALID_SECRET"}
  | {code: "THRESHOLD_DUPLICATE_SHARE"; shareIndex: number}
  | {code: "THRESHOLD_BAD_SHARE_INDEX"; shareIndex: number}
  | {code: "THRESHOLD_NOT_ENOUGH_PARTIALS"; have: number; need: number}
  | {code: "THRESHOLD_MALFORMED_POINT"; what: "signature" | "pubkey"; shareIndex: number};

export class ThresholdError extends R3dvError<ThresholdErrorType> {}

function checkIndex(shareIndex: number): void {
  if (!Number.isInteger(shareIndex) || shareIndex < 1 || shareIndex > 0xffff) {
    throw new ThresholdError(
      {code: "THRESHOLD_BAD_SHARE_INDEX", shareIndex},
      `share index must be an integer in 1..65535, got ${shareIndex}`,
    );
  }
}

function checkDistinct(indices: number[]): void {
  const seen = new Set<number>();
  for (const i of indices) {
    checkIndex(i);
    if (seen.has(i))
      throw new ThresholdError({code: "THRESHOLD_DUPLICATE_SHARE", shareIndex: i}, `share ${i} given twice`);
    seen.add(i);
  }
}

/**
 * Splits a 32-byte big-endian secret key into `shares` secret key shares, any `threshold` of which recover
 * it. The polynomial's other coefficients come from the OS CSPRNG and are wiped before returning.
 * Returns shares in index order: element k is share k+1.
 */
export function splitSecretKey(secret: Uint8Array, threshold: number, shares: number): Uint8Array[] {
  if (
    !Number.isInteger(threshold) ||
    !Number.isInteger(shares) ||
    threshold < 1 ||
    shares < threshold ||
    shares > 0xffff
  ) {
    throw new ThresholdError(
      {code: "THRESHOLD_INVALID_PARAMS", threshold, shares},
      `cannot split into ${shares} shares with threshold ${threshold}`,
    );
  }
  const bls = herumi();
  const coefficients = [new bls.SecretKey()];
  try {
    coefficients[0]?.deserialize(secret);
  } catch {
    throw new ThresholdError({code: "THRESHOLD_INVALID_SECRET"}, "secret key is not a valid BLS12-381 scalar");
  }
  if (coefficients[0]?.isZero()) throw new ThresholdError({code: "THRESHOLD_INVALID_SECRET"}, "secret key is zero");
  for (let k = 1; k < threshold; k++) {
    const c = new bls.SecretKey();
    // herumi's own CSPRNG is seeded from the platform in wasm; use node's explicitly so the source is obvious.
    c.setLittleEndianMod(randomBytes(64));
    coefficients.push(c);
  }
  const out: Uint8Array[] = [];
  try {
    for (let i = 1; i <= shares; i++) {
      const id = new bls.Id();
      id.setInt(i);
      const share = new bls.SecretKey();
      share.share(coefficients, id);
      out.push(share.serialize());
      share.clear();
    }
  } finally {
    for (const c of coefficients) c.clear();
  }
  return out;
}

/** Public key of a share or a whole key, 48-byte compressed (blst). */
export function secretToPublicKey(secret: Uint8Array): Uint8Array {
  return SecretKey.fromBytes(secret).toPublicKey().toBytes();
}

export function sign(secret: Uint8Array, message: Uint8Array): Uint8Array {
  return SecretKey.fromBytes(secret).sign(message).toBytes();
}

/**
 * Lagrange interpolation at x = 0 over signatures: any `threshold` distinct partials give the full one. Partials
 * are decompressed by blst and handed to herumi uncompressed: herumi's own decompression (a square root in WebAssembly)
 * cost 0.33 ms a partial against blst's 0.05, two thirds of a 3-of-4 recovery. The combination uses the index set's
 * cached small-integer coefficients (lagrange.ts) where it has them.
 */
export function recoverSignature(partials: PartialSignature[]): Uint8Array {
  if (partials.length === 0) throw new ThresholdError({code: "THRESHOLD_NOT_ENOUGH_PARTIALS", have: 0, need: 1});
  const indices = partials.map((p) => p.shareIndex);
  checkDistinct(indices);
  const bls = herumi();
  const sigs = partials.map((p) => {
    const s = new bls.Signature();
    try {
      // Not group-checked here (a recovered signature is verified whole); a point off the curve throws.
      s.deserializeUncompressed(Signature.fromBytes(p.signature).toBytes(false));
    } catch {
      throw new ThresholdError(
        {code: "THRESHOLD_MALFORMED_POINT", what: "signature", shareIndex: p.shareIndex},
        `partial signature of share ${p.shareIndex} is not a G2 point`,
      );
    }
    return s;
  });
  const plan = recoveryPlan(bls, indices);
  if (plan) return combine(bls, "signature", plan, sigs, () => new bls.Signature()).serialize();
  const ids = indices.map((i) => {
    const id = new bls.Id();
    id.setInt(i);
    return id;
  });
  const out = new bls.Signature();
  out.recover(sigs, ids);
  return out.serialize();
}

/** Lagrange interpolation at x = 0 over share public keys: recovers the validator's public key. */
export function recoverPublicKey(shares: {shareIndex: number; pubkey: Uint8Array}[]): Uint8Array {
  if (shares.length === 0) throw new ThresholdError({code: "THRESHOLD_NOT_ENOUGH_PARTIALS", have: 0, need: 1});
  checkDistinct(shares.map((s) => s.shareIndex));
  const bls = herumi();
  const pks = shares.map((s) => {
    const pk = new bls.PublicKey();
    try {
      // blst decompresses and checks the subgroup (0.1 ms against herumi's 0.6), herumi takes the point as is:
      // a node checks every validator's shares against its key at start, 2 recoveries each for 3-of-4.
      const uncompressed = PublicKey.fromBytes(s.pubkey, true).toBytes(false);
      bls.verifyPublicKeyOrder(false);
      try {
        pk.deserializeUncompressed(uncompressed);
      } finally {
        bls.verifyPublicKeyOrder(true);
      }
    } catch {
      throw new ThresholdError(
        {code: "THRESHOLD_MALFORMED_POINT", what: "pubkey", shareIndex: s.shareIndex},
        `public key of share ${s.shareIndex} is not a G1 point`,
      );
    }
    return pk;
  });
  const plan = recoveryPlan(
    bls,
    shares.map((s) => s.shareIndex),
  );
  if (plan) return combine(bls, "publicKey", plan, pks, () => new bls.PublicKey()).serialize();
  const ids = shares.map((s) => {
    const id = new bls.Id();
    id.setInt(s.shareIndex);
    return id;
  });
  const out = new bls.PublicKey();
  out.recover(pks, ids);
  return out.serialize();
}

/** blst verification; malformed bytes verify as false rather than throwing, so a peer's garbage is just "invalid". */
export function verifySignature(pubkey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(message, PublicKey.fromBytes(pubkey, true), Signature.fromBytes(signature, true));
  } catch {
    return false;
  }
}

export interface RecoverInput {
  message: Uint8Array;
  /** The validator's (group) public key. */
  pubkey: Uint8Array;
  /** Share public keys by share index, to name a bad partial when recovery fails. */
  sharePubkeys: Record<number, Uint8Array>;
  threshold: number;
  partials: PartialSignature[];
}

export type RecoverResult =
  | {ok: true; signature: Uint8Array; usedShares: number[]; badShares: number[]}
  | {
      ok: false;
      reason: "not_enough_valid_partials" | "share_keys_mismatch";
      badShares: number[];
      validShares: number[];
    };

/**
 * The optimistic path of DESIGN.md step 6: recover from the first `threshold` partials and verify once
 * (one pairing check instead of m). Only when that fails, verify each partial against its share key, name
 * the bad shares, and recover again from the good ones if enough remain.
 */
export function recoverAndVerify(input: RecoverInput): RecoverResult {
  const {message, pubkey, sharePubkeys, threshold, partials} = input;
  if (partials.length < threshold) {
    throw new ThresholdError({code: "THRESHOLD_NOT_ENOUGH_PARTIALS", have: partials.length, need: threshold});
  }
  const first = partials.slice(0, threshold);
  try {
    const signature = recoverSignature(first);
    if (verifySignature(pubkey, message, signature)) {
      return {ok: true, signature, usedShares: first.map((p) => p.shareIndex), badShares: []};
    }
  } catch (e) {
    // A malformed point or a duplicated index: fall through to the per-partial check that names it.
    if (e instanceof ThresholdError && e.code === "THRESHOLD_BAD_SHARE_INDEX") throw e;
  }
  const good: PartialSignature[] = [];
  const bad: number[] = [];
  const seen = new Set<number>();
  for (const p of partials) {
    const sharePk = sharePubkeys[p.shareIndex];
    const valid = sharePk !== undefined && !seen.has(p.shareIndex) && verifySignature(sharePk, message, p.signature);
    seen.add(p.shareIndex);
    if (valid) good.push(p);
    else bad.push(p.shareIndex);
  }
  if (good.length < threshold) {
    return {ok: false, reason: "not_enough_valid_partials", badShares: bad, validShares: good.map((p) => p.shareIndex)};
  }
  const used = good.slice(0, threshold);
  const signature = recoverSignature(used);
  if (!verifySignature(pubkey, message, signature)) {
    // Every partial verified under its share key yet the whole does not: the share keys in the lock do not
    // belong to this validator (a corrupted lock), not a signer's fault.
    return {ok: false, reason: "share_keys_mismatch", badShares: bad, validShares: good.map((p) => p.shareIndex)};
  }
  return {ok: true, signature, usedShares: used.map((p) => p.shareIndex), badShares: bad};
}
