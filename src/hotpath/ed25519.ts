import {type KeyObject, createPublicKey, verify} from "node:crypto";

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32-byte key follows it. */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/**
 * An Ed25519 key parsed once into OpenSSL's form. libp2p's `publicKey.verify` re-imports the raw key on every
 * call, which measured ~40% of the cost of a chunk signature check under a flood; a node verifies thousands a
 * second against the same n-1 keys.
 */
export function ed25519Verifier(raw: Uint8Array): (data: Uint8Array, sig: Uint8Array) => boolean {
  if (raw.length !== 32) throw new Error(`Ed25519 public key must be 32 bytes, got ${raw.length}`);
  const key: KeyObject = createPublicKey({key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki"});
  return (data, sig) => sig.length === 64 && verify(null, data, key, sig);
}
