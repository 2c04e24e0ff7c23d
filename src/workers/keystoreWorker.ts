import {type IKeystore, decrypt} from "@chainsafe/bls-keystore";
import {
  KeystoreError,
  type KeystoreErrorType,
  type Kdf,
  cacheKeystore,
  decryptKeystoreFile,
  encryptKeystore,
} from "../cluster/keystores.js";

export interface EncryptKeystoreTask {
  secret: Uint8Array;
  password: string;
  kdf: Kdf;
  description: string;
}

/** Runs a KDF (scrypt or pbkdf2 at 2^18, ~0.1-0.5 s of one core each) off the main thread; returns the keystore JSON. */
export default async function run(task: EncryptKeystoreTask): Promise<string> {
  const keystore = await encryptKeystore(task.secret, task.password, task.kdf, task.description);
  task.secret.fill(0);
  return keystore.stringify();
}

/** A keystore file decrypted, or the typed error that says why not (an error's class does not cross threads). */
export type DecryptFileOutcome =
  {ok: true; secret: Uint8Array; pubkey: Uint8Array} | {ok: false; type: KeystoreErrorType; message: string};

export async function decryptFile(task: {file: string; password: string}): Promise<DecryptFileOutcome> {
  try {
    const {secret, pubkey} = await decryptKeystoreFile(task.file, task.password);
    return {ok: true, secret, pubkey};
  } catch (e) {
    if (e instanceof KeystoreError) return {ok: false, type: e.type, message: e.message};
    throw e;
  }
}

/** The share cache's one KDF run on reading: the secret bytes (every share, concatenated). */
export function decryptCache(task: {keystore: IKeystore; password: string}): Promise<Uint8Array> {
  return decrypt(task.keystore, task.password);
}

/** The share cache's one KDF run on writing. */
export async function createCache(task: {secret: Uint8Array; password: string}): Promise<IKeystore> {
  const keystore = await cacheKeystore(task.secret, task.password);
  task.secret.fill(0);
  return keystore;
}
