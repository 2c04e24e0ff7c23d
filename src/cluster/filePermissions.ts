import {stat} from "node:fs/promises";
import {R3dvError} from "../util/errors.js";

/** Group and other permission bits: any of them on a secret means another local user can read or swap it. */
const GROUP_OTHER_BITS = 0o077;

export type FilePermissionErrorType = {code: "SECRET_FILE_EXPOSED"; file: string; mode: string; fix: string};
export class FilePermissionError extends R3dvError<FilePermissionErrorType> {}

/**
 * Refuses a secret file (node identity, keystore, keystore password) that users other than its owner may
 * read or write, as ssh refuses such a private key: the node does not start on a key someone else may have
 * copied. `create-cluster` writes these files 0600. Windows has no such mode bits, so it is not checked there.
 * A file that cannot be stat'ed passes: the loader that reads it next reports that with its own error.
 */
export async function assertOwnerOnly(file: string, what: string): Promise<void> {
  if (process.platform === "win32") return;
  let mode: number;
  try {
    mode = (await stat(file)).mode & 0o777;
  } catch {
    return;
  }
  if ((mode & GROUP_OTHER_BITS) === 0) return;
  const octal = mode.toString(8).padStart(4, "0");
  const fix = `chmod 600 ${file}`;
  throw new FilePermissionError(
    {code: "SECRET_FILE_EXPOSED", file, mode: octal, fix},
    `${what} ${file} is open to other users (mode ${octal}); run \`${fix}\` (and check who else could have read it)`,
  );
}
