import type {PrivateKey} from "@libp2p/interface";
import {peerIdFromString} from "@libp2p/peer-id";
import {fromHex, toHex} from "../hotpath/bytes.js";
import {ed25519Verifier} from "../hotpath/ed25519.js";
import type {LockOperator} from "./lockSchema.js";

/**
 * Domain prefix of what an operator signs: its identity key also signs chunks ("r3dv-chunk/v1") and QBFT
 * messages ("r3dv-qbft/v1"), and a signature over one must never pass as a signature over another.
 */
const DOMAIN = Buffer.from("r3dv-lock-hash/v1", "utf8");

/** The bytes operator signatures cover: the domain, then the 32 bytes of `lock_hash`. */
export function lockSigningBytes(lockHash: string): Uint8Array {
  return Buffer.concat([DOMAIN, fromHex(lockHash)]);
}

/** One operator's approval of a lock: its libp2p identity key over the lock hash. */
export async function signLockHash(privateKey: PrivateKey, lockHash: string): Promise<string> {
  return toHex(await privateKey.sign(lockSigningBytes(lockHash)));
}

export type LockSignatureProblem =
  | {operator: number; peerId: string; problem: "not_ed25519"}
  | {operator: number; peerId: string; problem: "missing"}
  | {operator: number; peerId: string; problem: "invalid"};

/**
 * The first operator whose signature over `lockHash` is missing or does not verify under the key its peer id
 * carries (Ed25519 peer ids embed the public key), or undefined when all n verify.
 */
export function findBadLockSignature(
  operators: LockOperator[],
  lockHash: string,
  signatures: string[],
): LockSignatureProblem | undefined {
  const bytes = lockSigningBytes(lockHash);
  for (const [k, op] of operators.entries()) {
    const at = {operator: op.index, peerId: op.peer_id};
    const publicKey = peerIdFromString(op.peer_id).publicKey;
    if (publicKey?.type !== "Ed25519") return {...at, problem: "not_ed25519"};
    const sig = signatures[k];
    if (sig === undefined) return {...at, problem: "missing"};
    if (!ed25519Verifier(publicKey.raw)(bytes, fromHex(sig))) return {...at, problem: "invalid"};
  }
  return undefined;
}
