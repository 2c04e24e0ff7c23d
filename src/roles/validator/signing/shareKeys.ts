import {readFile} from "node:fs/promises";
import {availableParallelism} from "node:os";
import {join} from "node:path";
import {KEYS_DIR, keystoreFileName, passwordFileName} from "../../../cluster/createCluster.js";
import {assertOwnerOnly} from "../../../cluster/filePermissions.js";
import {readPasswordFile} from "../../../cluster/keystores.js";
import type {ClusterLock} from "../../../cluster/lockSchema.js";
import {bytesEqual, fromHex} from "../../../hotpath/bytes.js";
import {secretToPublicKey} from "../../../hotpath/threshold.js";
import {R3dvError} from "../../../util/errors.js";
import {KeystoreThreads} from "../../../workers/keystorePool.js";
import {ShareCacheError, readShareCache, shareCacheFingerprint, writeShareCache} from "./shareCache.js";

/** What a duty may know of one validator's shares: no secret (only the Signer holds those). */
export interface PublicShare {
  /** The validator's (group) public key, lower-case 0x hex. */
  pubkey: string;
  /** Every share's public key by share index, to name a bad partial. */
  sharePubkeys: Record<number, Uint8Array>;
}

export interface ShareKey extends PublicShare {
  /** This node's share of it. */
  secret: Uint8Array;
}

/**
 * Keystores decrypted at once when a node starts, each on its own worker thread: one core stays free for the
 * event loop (the node is already joining its peers and its beacon node), at most 4 because 4 scrypt runs take
 * 1 GiB at EIP-2335's work factor, the most a node should ask for at start.
 */
const DECRYPT_CONCURRENCY = Math.max(1, Math.min(4, availableParallelism() - 1));

export type ShareKeyErrorType = {code: "SHARE_KEY_MISMATCH"; file: string; validator: string};
export class ShareKeyError extends R3dvError<ShareKeyErrorType> {}

/** What a start that loads its shares reports: progress while decrypting keystores, and the cache's fate. */
export interface ShareLoadEvents {
  /** After each keystore decrypted (not called when the cache served every share). */
  progress?(done: number, total: number): void;
  /** The cache was used, or could not be (and why), or was written, or could not be. */
  cache?(outcome: "used" | "written" | ShareCacheError): void;
}

/**
 * This node's share of every validator in the lock, each checked against the lock's share key: from the
 * decrypted-share cache (`cacheFile`, one scrypt run) when it was made from these very keystores and passwords,
 * else decrypted keystore by keystore (one scrypt run each), after which the cache is written for the next start.
 * Every KDF runs on worker threads (KeystoreThreads), never on the caller's.
 */
export async function loadShareKeys(
  lock: ClusterLock,
  nodeDir: string,
  self: number,
  opts: {cacheFile?: string; events?: ShareLoadEvents} = {},
): Promise<ShareKey[]> {
  const dir = join(nodeDir, KEYS_DIR);
  const n = lock.validators.length;
  const keystores: Uint8Array[] = [];
  const passwords: string[] = [];
  for (let j = 0; j < n; j++) {
    // Here, not in decryptKeystoreFile: create-cluster also reads the user's own keystores (deposit-cli writes 0440).
    for (const f of [keystoreFileName(j), passwordFileName(j)]) await assertOwnerOnly(join(dir, f), "keystore file");
    passwords.push(await readPasswordFile(join(dir, passwordFileName(j))));
    keystores.push(await readFile(join(dir, keystoreFileName(j))).catch(() => new Uint8Array(0)));
  }
  const threads = new KeystoreThreads(DECRYPT_CONCURRENCY);
  try {
    return await decryptShares(lock, dir, self, keystores, passwords, threads, opts);
  } finally {
    await threads.close();
  }
}

async function decryptShares(
  lock: ClusterLock,
  dir: string,
  self: number,
  keystores: Uint8Array[],
  passwords: string[],
  threads: KeystoreThreads,
  opts: {cacheFile?: string; events?: ShareLoadEvents},
): Promise<ShareKey[]> {
  const n = lock.validators.length;
  const share = (j: number, secret: Uint8Array): ShareKey => {
    const v = lock.validators[j] as ClusterLock["validators"][number];
    return {
      pubkey: v.pubkey.toLowerCase(),
      secret,
      sharePubkeys: Object.fromEntries(v.share_pubkeys.map((p, i) => [i + 1, fromHex(p)])),
    };
  };
  const events = opts.events ?? {};
  const fingerprint = shareCacheFingerprint(keystores, passwords);
  if (opts.cacheFile) {
    try {
      const secrets = await readShareCache(opts.cacheFile, fingerprint, passwords, threads);
      const shares = secrets.map((secret, j) => {
        const v = lock.validators[j] as ClusterLock["validators"][number];
        if (!bytesEqual(secretToPublicKey(secret), fromHex(v.share_pubkeys[self - 1] as string)))
          throw new ShareCacheError(
            {code: "SHARE_CACHE_UNUSABLE", file: opts.cacheFile as string, reason: `share ${j} is not the lock's`},
            `share cache ${opts.cacheFile}: share ${j} is not the lock's share ${self} of validator ${v.pubkey}`,
          );
        return share(j, secret);
      });
      events.cache?.("used");
      return shares;
    } catch (e) {
      if (!(e instanceof ShareCacheError)) throw e;
      events.cache?.(e);
    }
  }
  const load = async (j: number): Promise<ShareKey> => {
    const v = lock.validators[j] as ClusterLock["validators"][number];
    const ks = await threads.decryptFile(join(dir, keystoreFileName(j)), passwords[j] as string);
    if (!bytesEqual(ks.pubkey, fromHex(v.share_pubkeys[self - 1] as string))) {
      throw new ShareKeyError(
        {code: "SHARE_KEY_MISMATCH", file: ks.file, validator: v.pubkey},
        `${ks.file} is not share ${self} of validator ${v.pubkey}: is this node dir the lock's operator ${self}?`,
      );
    }
    return share(j, ks.secret);
  };
  const out = new Array<ShareKey>(n);
  let next = 0;
  let done = 0;
  const workers = Array.from({length: Math.min(DECRYPT_CONCURRENCY, n)}, async () => {
    while (next < n) {
      const j = next++;
      out[j] = await load(j);
      events.progress?.(++done, n);
    }
  });
  await Promise.all(workers);
  if (opts.cacheFile) {
    try {
      await writeShareCache(
        opts.cacheFile,
        fingerprint,
        passwords,
        out.map((s) => s.secret),
        threads,
      );
      events.cache?.("written");
    } catch (e) {
      if (!(e instanceof ShareCacheError)) throw e;
      events.cache?.(e);
    }
  }
  return out;
}
