import {createHash, randomBytes} from "node:crypto";
import {readFile, rename, rm} from "node:fs/promises";
import {type IKeystore, decrypt} from "@chainsafe/bls-keystore";
import {cacheKeystore} from "../../../cluster/keystores.js";
import type {CacheKdf} from "../../../workers/keystorePool.js";
import {writeSecretFile} from "../../../cluster/fsSecure.js";
import {R3dvError, errorMessage} from "../../../util/errors.js";

/** The decrypted-share cache, in the node's data dir (owner-only, like the keystores it stands for). */
export const SHARE_CACHE_FILE = "share-cache.json";
/** Bumped when the file's layout changes: an older cache is then ignored and rebuilt. */
const CACHE_VERSION = 1;
/** A BLS secret key's bytes: the cache holds the shares one after the other. */
const SECRET_BYTES = 32;

export type ShareCacheErrorType =
  /** The cache cannot be used (missing, made from other keystores, damaged): the keystores are decrypted instead. */
  | {code: "SHARE_CACHE_UNUSABLE"; file: string; reason: string}
  /** The cache could not be written: the node runs, and the next start decrypts every keystore again. */
  | {code: "SHARE_CACHE_UNWRITABLE"; file: string; reason: string};
export class ShareCacheError extends R3dvError<ShareCacheErrorType> {}

/**
 * What the cache was made from: this operator's keystore files (their bytes) and every password, in the lock's
 * order. Any keystore replaced, added, removed or re-encrypted, or another password, gives another fingerprint
 * and the cache is rebuilt from the keystores. A hash of secrets' ciphertexts and passwords: it reveals nothing
 * a keystore file does not.
 */
export function shareCacheFingerprint(keystores: Uint8Array[], passwords: string[]): string {
  const h = createHash("sha256").update(`r3dv share cache v${CACHE_VERSION}\n`);
  for (const [i, k] of keystores.entries()) {
    h.update(`${k.length}:`).update(k);
    const p = Buffer.from(passwords[i] ?? "", "utf8");
    h.update(`${p.length}:`).update(p);
  }
  return h.digest("hex");
}

interface CacheFile {
  version: number;
  fingerprint: string;
  shares: number;
  /**
   * An EIP-2335 keystore (scrypt) whose secret is every share's secret, concatenated in the lock's order: its
   * ciphertext is longer than the EIP's 32 bytes, so it is read with the library's functions, not its schema.
   */
  keystore: IKeystore;
}

/** The cache's KDF on the calling thread: for tools and tests; a starting node runs it on KeystoreThreads. */
const inProcess: CacheKdf = {decrypt, create: cacheKeystore};

/**
 * Decrypting each share's EIP-2335 keystore costs one scrypt run (about a second of a core): 10,000 shares
 * are hours. The cache is one keystore for them all, as Lodestar's validator client caches its keystores: one
 * scrypt run at each start. Its password is every share's password concatenated, so whoever can open it could
 * open every keystore already; nothing secret is ever on disk in the clear.
 */
export async function readShareCache(
  file: string,
  fingerprint: string,
  passwords: string[],
  kdf: CacheKdf = inProcess,
): Promise<Uint8Array[]> {
  const unusable = (reason: string) =>
    new ShareCacheError({code: "SHARE_CACHE_UNUSABLE", file, reason}, `share cache ${file} not used: ${reason}`);
  let cache: CacheFile;
  try {
    cache = JSON.parse(await readFile(file, "utf8")) as CacheFile;
  } catch (e) {
    throw unusable(errorMessage(e));
  }
  if (cache.version !== CACHE_VERSION || cache.fingerprint !== fingerprint || cache.shares !== passwords.length)
    throw unusable("made from other keystores or passwords, or by another r3dv version");
  let all: Uint8Array;
  try {
    all = await kdf.decrypt(cache.keystore, passwords.join(""));
  } catch (e) {
    throw unusable(errorMessage(e));
  }
  if (all.length !== cache.shares * SECRET_BYTES) throw unusable(`${all.length} bytes, not ${cache.shares} shares`);
  const shares = Array.from({length: cache.shares}, (_, i) => all.slice(i * SECRET_BYTES, (i + 1) * SECRET_BYTES));
  // Each share is a copy now: the concatenation is not left for the garbage collector to hand out.
  all.fill(0);
  return shares;
}

/** Writes the cache atomically (a new owner-only file renamed over the old one): a crash leaves the old or none. */
export async function writeShareCache(
  file: string,
  fingerprint: string,
  passwords: string[],
  secrets: Uint8Array[],
  kdf: CacheKdf = inProcess,
): Promise<void> {
  const all = new Uint8Array(secrets.length * SECRET_BYTES);
  secrets.forEach((s, i) => all.set(s, i * SECRET_BYTES));
  const keystore = await kdf.create(all, passwords.join(""));
  all.fill(0);
  const body: CacheFile = {version: CACHE_VERSION, fingerprint, shares: secrets.length, keystore};
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeSecretFile(tmp, JSON.stringify(body));
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, {force: true});
    throw new ShareCacheError(
      {code: "SHARE_CACHE_UNWRITABLE", file, reason: errorMessage(e)},
      `cannot write the share cache ${file}: ${errorMessage(e)}`,
    );
  }
}
