import {Signature, verify, type PublicKey} from "@chainsafe/blst";
import {computeSigningRoot, type CachedBeaconStateAllForks} from "@lodestar/state-transition";
import {errorMessage} from "../util/errors.js";

/** Verifies one validator's signature over `value` in `domain`; refuses with a reason that names the failure. */
export function verifySignature<T>(
  state: CachedBeaconStateAllForks,
  validatorIndex: number,
  type: {hashTreeRoot(v: T): Uint8Array},
  value: T,
  domain: Uint8Array,
  signatureBytes: Uint8Array,
  refuse: (reason: string) => never,
): Signature {
  const pubkey: PublicKey | undefined = state.epochCtx.getPubkey(validatorIndex);
  if (!pubkey) refuse(`unknown validator index ${validatorIndex}`);
  let signature: Signature;
  try {
    signature = Signature.fromBytes(signatureBytes, true);
  } catch (e) {
    refuse(`signature is not a valid BLS signature: ${errorMessage(e)}`);
  }
  const signingRoot = computeSigningRoot(type as never, value, domain);
  if (!verify(signingRoot, pubkey, signature)) {
    refuse(`invalid signature of validator ${validatorIndex} (wrong key, wrong message or wrong domain/fork version)`);
  }
  return signature;
}
