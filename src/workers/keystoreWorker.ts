import {encryptKeystore, type Kdf} from "../cluster/keystores.js";

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
