import {createHash, createPublicKey, sign as edSign, verify as edVerify, type KeyObject} from "node:crypto";
import type {PrivateKey} from "@libp2p/interface";
import {peerIdFromString} from "@libp2p/peer-id";
import {encodeQbftMessage} from "./encoding.js";
import type {QbftCrypto} from "./types.js";

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410). */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
/** Domain prefix: a node's identity signature over QBFT bytes can never be mistaken for one over a chunk. */
const DOMAIN = Buffer.from("r3dv-qbft/v1", "utf8");

/**
 * QBFT messages signed with each node's libp2p Ed25519 identity (the keys the lock already lists as peer
 * ids), so a justification can be checked by anyone without another key system. Keys are imported into
 * OpenSSL once; node:crypto signs and verifies synchronously, as the state machine requires.
 */
export function ed25519QbftCrypto(privateKey: PrivateKey, peerIds: string[]): QbftCrypto {
  if (privateKey.type !== "Ed25519") throw new Error(`QBFT signing needs an Ed25519 identity, got ${privateKey.type}`);
  const raw = privateKey.raw;
  // libp2p's Ed25519 private key is seed (32) || public key (32); OpenSSL wants the seed in PKCS#8.
  const pkcs8 = Buffer.concat([
    Buffer.from("302e020100300506032b657004220420", "hex"),
    Buffer.from(raw.subarray(0, 32)),
  ]);
  const signer = {key: pkcs8, format: "der" as const, type: "pkcs8" as const};
  const verifiers: KeyObject[] = peerIds.map((id) => {
    const pub = peerIdFromString(id).publicKey;
    if (!pub || pub.type !== "Ed25519") throw new Error(`peer ${id} has no Ed25519 public key`);
    return createPublicKey({key: Buffer.concat([SPKI_PREFIX, pub.raw]), format: "der", type: "spki"});
  });
  const bytes = (m: Parameters<QbftCrypto["sign"]>[0]) => Buffer.concat([DOMAIN, encodeQbftMessage(m)]);
  return {
    sign: (msg) => new Uint8Array(edSign(null, bytes(msg), signer)),
    verify: (msg, sig) => {
      const key = verifiers[msg.sender - 1];
      return key !== undefined && sig.length === 64 && edVerify(null, bytes(msg), key, sig);
    },
    hash: (value) => new Uint8Array(createHash("sha256").update(value).digest()),
  };
}
