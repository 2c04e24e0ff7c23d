import {writeFile} from "node:fs/promises";

/** Owner read/write only: identity keys, keystores and their passwords. */
export const SECRET_FILE_MODE = 0o600;

/** Writes a file that holds a secret: 0600 from creation (no window where it is world-readable), never overwrites. */
export async function writeSecretFile(path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(path, data, {mode: SECRET_FILE_MODE, flag: "wx"});
}

/** Writes a public file, never overwriting an existing one. */
export async function writePublicFile(path: string, data: string): Promise<void> {
  await writeFile(path, data, {mode: 0o644, flag: "wx"});
}
