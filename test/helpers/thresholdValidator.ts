import {randomBytes} from "node:crypto";
import {SecretKey} from "@chainsafe/blst";
import {type RecoverInput, secretToPublicKey, sign, splitSecretKey} from "../../src/hotpath/threshold.js";

/**
 * A fresh validator key split `threshold`-of-`n`, with every share's partial signature over `message`: a
 * recovery input (all n partials) plus the secret and the shares, for tests that tamper with them.
 * Needs `initHerumi()` awaited.
 */
export function thresholdValidator(
  threshold: number,
  n: number,
  message: Uint8Array = randomBytes(32),
): RecoverInput & {secret: Uint8Array; shares: Uint8Array[]} {
  const secret = SecretKey.fromKeygen(randomBytes(32)).toBytes();
  const shares = splitSecretKey(secret.slice(), threshold, n);
  return {
    message,
    pubkey: secretToPublicKey(secret),
    sharePubkeys: Object.fromEntries(shares.map((s, i) => [i + 1, secretToPublicKey(s)])),
    threshold,
    partials: shares.map((s, i) => ({shareIndex: i + 1, signature: sign(s, message)})),
    secret,
    shares,
  };
}
