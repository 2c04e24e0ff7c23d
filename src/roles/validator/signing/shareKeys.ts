import {availableParallelism} from "node:os";
import {join} from "node:path";
import {KEYS_DIR, keystoreFileName, passwordFileName} from "../../../cluster/createCluster.js";
import {assertOwnerOnly} from "../../../cluster/filePermissions.js";
import {decryptKeystoreFile, readPasswordFile} from "../../../cluster/keystores.js";
import type {ClusterLock} from "../../../cluster/lockSchema.js";
import {bytesEqual, fromHex} from "../../../hotpath/bytes.js";
import {R3dvError} from "../../../util/errors.js";

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
 * Keystores decrypted at once when a node starts: one core stays free for the event loop (the node is
 * already joining its peers and its beacon node), at most 4 because libuv's default pool has 4 threads and
 * 4 scrypt runs take 1 GiB at EIP-2335's work factor, the most a node should ask for at start.
 */
const DECRYPT_CONCURRENCY = Math.max(1, Math.min(4, availableParallelism() - 1));

export type ShareKeyErrorType = {code: "SHARE_KEY_MISMATCH"; file: string; validator: string};
export class ShareKeyError extends R3dvError<ShareKeyErrorType> {}

/** Decrypts this node's share of every validator in the lock and checks each against the lock's share key. */
export async function loadShareKeys(lock: ClusterLock, nodeDir: string, self: number): Promise<ShareKey[]> {
  const dir = join(nodeDir, KEYS_DIR);
  const load = async (j: number): Promise<ShareKey> => {
    const v = lock.validators[j] as ClusterLock["validators"][number];
    // Here, not in decryptKeystoreFile: create-cluster also reads the user's own keystores (deposit-cli writes 0440).
    for (const f of [keystoreFileName(j), passwordFileName(j)]) await assertOwnerOnly(join(dir, f), "keystore file");
    const ks = await decryptKeystoreFile(
      join(dir, keystoreFileName(j)),
      await readPasswordFile(join(dir, passwordFileName(j))),
    );
    if (!bytesEqual(ks.pubkey, fromHex(v.share_pubkeys[self - 1] as string))) {
      throw new ShareKeyError(
        {code: "SHARE_KEY_MISMATCH", file: ks.file, validator: v.pubkey},
        `${ks.file} is not share ${self} of validator ${v.pubkey}: is this node dir the lock's operator ${self}?`,
      );
    }
    return {
      pubkey: v.pubkey.toLowerCase(),
      secret: ks.secret,
      sharePubkeys: Object.fromEntries(v.share_pubkeys.map((p, i) => [i + 1, fromHex(p)])),
    };
  };
  const out = new Array<ShareKey>(lock.validators.length);
  let next = 0;
  // Node's KDFs run on libuv's thread pool, so several at once use every core; scrypt at EIP-2335's
  // n = 2^18 takes 256 MiB each, so no more than DECRYPT_CONCURRENCY run together.
  const workers = Array.from({length: Math.min(DECRYPT_CONCURRENCY, lock.validators.length)}, async () => {
    while (next < lock.validators.length) {
      const j = next++;
      out[j] = await load(j);
    }
  });
  await Promise.all(workers);
  return out;
}
