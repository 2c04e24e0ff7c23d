import {type KeyObject, createPrivateKey, sign} from "node:crypto";
import type {PrivateKey} from "@libp2p/interface";
import {peerIdFromString} from "@libp2p/peer-id";
import {ed25519Verifier} from "../../hotpath/ed25519.js";

/** How a ceremony signs what others relay, and checks what it relays: synchronous, so the state machine stays so. */
export interface DkgAuthenticator {
  sign(bytes: Uint8Array): Uint8Array;
  /** `operator` is 1-based, in definition order. */
  verify(operator: number, bytes: Uint8Array, signature: Uint8Array): boolean;
}

/** DER prefix of an Ed25519 PKCS#8 private key (RFC 8410); the 32-byte seed follows it. */
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * The operators' libp2p identity keys: Ed25519 peer ids carry their public key, so the definition's peer ids
 * are all a ceremony needs to check every operator's signatures.
 */
export function identityAuthenticator(privateKey: PrivateKey, peerIds: string[]): DkgAuthenticator {
  if (privateKey.type !== "Ed25519") throw new Error(`DKG identities must be Ed25519, got ${privateKey.type}`);
  // libp2p's raw Ed25519 private key is the 32-byte seed followed by the public key.
  const key: KeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, privateKey.raw.subarray(0, 32)]),
    format: "der",
    type: "pkcs8",
  });
  const verifiers = peerIds.map((id) => {
    const pub = peerIdFromString(id).publicKey;
    if (pub?.type !== "Ed25519") throw new Error(`peer id ${id} is not Ed25519`);
    return ed25519Verifier(pub.raw);
  });
  return {
    sign: (bytes) => new Uint8Array(sign(null, bytes, key)),
    verify: (operator, bytes, signature) => verifiers[operator - 1]?.(bytes, signature) ?? false,
  };
}
