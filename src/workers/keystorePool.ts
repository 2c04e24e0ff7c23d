import {availableParallelism} from "node:os";
import {Piscina} from "piscina";
import type {EncryptKeystoreTask} from "./keystoreWorker.js";

/**
 * Encrypts many keystores on every core: creating a cluster runs n x V key derivation functions, each
 * deliberately slow, so a 4-node, 64-validator cluster spends most of its time here. A short-lived pool,
 * separate from the BLS pool, because it only exists while a command writes keystores.
 */
export async function encryptKeystores(
  tasks: EncryptKeystoreTask[],
  threads = availableParallelism(),
): Promise<string[]> {
  const pool = new Piscina({
    filename: new URL("./keystoreWorker.js", import.meta.url).href,
    minThreads: 1,
    maxThreads: Math.max(1, threads),
  });
  try {
    return await Promise.all(tasks.map((t) => pool.run(t) as Promise<string>));
  } finally {
    await pool.close();
  }
}
