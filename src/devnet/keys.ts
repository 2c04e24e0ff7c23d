import {SecretKey, type Signature} from "@chainsafe/blst";
import {interopSecretKey} from "../hotpath/interop.js";

/**
 * The interop keys the devnet needs: every validator's public key (for genesis) and the secret keys of the
 * validators it signs for. Secret keys are derived on first use and never logged or served.
 */
export class SecretKeyCache {
  private readonly secretKeys = new Map<number, SecretKey>();
  private readonly pubkeys = new Map<number, Uint8Array>();

  secretKey(index: number): SecretKey {
    let sk = this.secretKeys.get(index);
    if (sk === undefined) {
      sk = SecretKey.fromBytes(interopSecretKey(index));
      this.secretKeys.set(index, sk);
    }
    return sk;
  }

  pubkey(index: number): Uint8Array {
    let pk = this.pubkeys.get(index);
    if (pk === undefined) {
      pk = this.secretKey(index).toPublicKey().toBytes();
      this.pubkeys.set(index, pk);
    }
    return pk;
  }

  sign(index: number, signingRoot: Uint8Array): Uint8Array {
    return this.signRaw(index, signingRoot).toBytes();
  }

  signRaw(index: number, signingRoot: Uint8Array): Signature {
    return this.secretKey(index).sign(signingRoot);
  }
}
