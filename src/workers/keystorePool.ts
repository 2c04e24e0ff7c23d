import {availableParallelism} from "node:os";
import type {IKeystore} from "@chainsafe/bls-keystore";
import {Piscina} from "piscina";
import {type DecryptedKeystore, KeystoreError} from "../cluster/keystores.js";
import type {DecryptFileOutcome, EncryptKeystoreTask} from "./keystoreWorker.js";
import {WORKER_EVENT_LOOP} from "./workerEventLoop.js";

const WORKER = new URL("./keystoreWorker.js", import.meta.url).href;

/**
 * Encrypts many keystores on every core: creating a cluster runs n x V key derivation functions, each
 * deliberately slow, so a 4-node, 64-validator cluster spends most of its time here. A short-lived pool,
 * separate from the BLS pool, because it only exists while a command writes keystores.
 */
export async function encryptKeystores(
  tasks: EncryptKeystoreTask[],
  threads = availableParallelism(),
): Promise<string[]> {
  const pool = new Piscina({filename: WORKER, minThreads: 1, maxThreads: Math.max(1, threads), ...WORKER_EVENT_LOOP});
  try {
    return await Promise.all(tasks.map((t) => pool.run(t) as Promise<string>));
  } finally {
    await pool.close();
  }
}

/** The KDF-bound steps of reading and writing the decrypted-share cache. */
export interface CacheKdf {
  decrypt(keystore: IKeystore, password: string): Promise<Uint8Array>;
  create(secret: Uint8Array, password: string): Promise<IKeystore>;
}

/**
 * Decrypts keystores on worker threads while a node starts. @chainsafe/bls-keystore derives keys with Node's
 * scryptSync and pbkdf2Sync: on the main thread every keystore (about a second of scrypt each) would stop the
 * event loop, its peers' connections and its progress output, and run one at a time whatever the cores. Here
 * `threads` run at once, each on its own core. Short-lived: closed once the shares are loaded.
 */
export class KeystoreThreads implements CacheKdf {
  private readonly pool: Piscina;

  constructor(threads: number) {
    this.pool = new Piscina({filename: WORKER, minThreads: 0, maxThreads: Math.max(1, threads), ...WORKER_EVENT_LOOP});
  }

  async decryptFile(file: string, password: string): Promise<DecryptedKeystore> {
    const r = (await this.pool.run({file, password}, {name: "decryptFile"})) as DecryptFileOutcome;
    if (!r.ok) throw new KeystoreError(r.type, r.message);
    return {file, secret: r.secret, pubkey: r.pubkey};
  }

  decrypt(keystore: IKeystore, password: string): Promise<Uint8Array> {
    return this.pool.run({keystore, password}, {name: "decryptCache"}) as Promise<Uint8Array>;
  }

  create(secret: Uint8Array, password: string): Promise<IKeystore> {
    return this.pool.run({secret, password}, {name: "createCache"}) as Promise<IKeystore>;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
