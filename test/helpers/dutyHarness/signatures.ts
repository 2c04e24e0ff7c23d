import {SecretKey, Signature, verify} from "@chainsafe/blst";
import {interopSecretKey} from "../../../src/hotpath/interop.js";

/**
 * Whether `signature` is interop validator `index`'s over `signingRoot`, checked with blst against the full key
 * derived from the validator's secret: independent of the cluster's shares, lock and recovery code under test.
 */
export function signedBy(index: number, signingRoot: Uint8Array, signature: Uint8Array): boolean {
  const pubkey = secretKey(index).toPublicKey();
  try {
    return verify(signingRoot, pubkey, Signature.fromBytes(signature, true));
  } catch {
    // Not a point on the curve: signed by no one.
    return false;
  }
}

/** Interop validator `index`'s own signature over `signingRoot` (BLS signing is deterministic: what a threshold recovers). */
export function signedAs(index: number, signingRoot: Uint8Array): Uint8Array {
  return secretKey(index).sign(signingRoot).toBytes();
}

function secretKey(index: number): SecretKey {
  return SecretKey.fromBytes(interopSecretKey(index));
}
