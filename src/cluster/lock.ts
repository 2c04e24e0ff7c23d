import {createHash} from "node:crypto";
import {readFile} from "node:fs/promises";
import {isValidAddress} from "@ethereumjs/util";
import {peerIdFromString} from "@libp2p/peer-id";
import canonicalizeModule from "canonicalize";
import type {z} from "zod";
import {bytesEqual, fromHex, toHex} from "../hotpath/bytes.js";
import {initHerumi} from "../hotpath/herumi.js";
import {recoverPublicKey} from "../hotpath/threshold.js";
import {R3dvError, errorMessage} from "../util/errors.js";
import {type ClusterLock, type LockBody, lockSchema} from "./lockSchema.js";
import {genesisForkVersionHex} from "./network.js";
import {checkQuorum} from "./quorum.js";
import {isValidWithdrawalCredentials} from "./withdrawal.js";

export type LockErrorType =
  | {code: "LOCK_UNREADABLE"; file: string; reason: string}
  | {code: "LOCK_MALFORMED"; file: string; field: string; reason: string}
  | {code: "LOCK_INCONSISTENT"; file: string; field: string; reason: string}
  | {code: "LOCK_HASH_MISMATCH"; file: string; expected: string; actual: string};

export class LockError extends R3dvError<LockErrorType> {}

// The package is CommonJS (`module.exports = serialize`) while its types declare an ES default export.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/**
 * SHA-256 over the RFC 8785 (JCS) canonical JSON of every field but `lock_hash`. JCS fixes key order,
 * whitespace and number format, so any tool in any language reproduces the hash from the file alone.
 */
export function computeLockHash(body: LockBody): string {
  const {lock_hash: _ignored, ...rest} = body as LockBody & {lock_hash?: string};
  const canonical = canonicalize(rest);
  if (canonical === undefined) throw new Error("lock body cannot be canonicalised");
  return toHex(createHash("sha256").update(canonical).digest());
}

function zodField(issue: z.core.$ZodIssue): string {
  return issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "") || "(root)";
}

/** Parses and fully checks a lock: schema, internal consistency, then the hash. */
export async function parseLock(text: string, file: string): Promise<ClusterLock> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LockError({code: "LOCK_MALFORMED", file, field: "(root)", reason: errorMessage(e)}, `${file} is not valid JSON: ${errorMessage(e)}`);
  }
  const parsed = lockSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const field = zodField(issue);
    throw new LockError({code: "LOCK_MALFORMED", file, field, reason: issue.message}, `${file}: field ${field}: ${issue.message}`);
  }
  const lock = parsed.data;
  await checkConsistency(lock, file);
  const actual = computeLockHash(lock);
  if (actual !== lock.lock_hash.toLowerCase()) {
    throw new LockError(
      {code: "LOCK_HASH_MISMATCH", file, expected: lock.lock_hash, actual},
      `${file}: lock_hash ${lock.lock_hash} does not match the content (hash ${actual}): the file was changed after ` +
        `create-cluster; get the original cluster-lock.json from another operator`,
    );
  }
  return lock;
}

export async function loadLock(file: string): Promise<ClusterLock> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new LockError({code: "LOCK_UNREADABLE", file, reason: errorMessage(e)}, `cannot read cluster lock ${file}: ${errorMessage(e)}`);
  }
  return parseLock(text, file);
}

function inconsistent(file: string, field: string, reason: string): LockError {
  return new LockError({code: "LOCK_INCONSISTENT", file, field, reason}, `${file}: field ${field}: ${reason}`);
}

/** Checks what the schema cannot: relations between fields, and that share keys belong to their validator. */
async function checkConsistency(lock: ClusterLock, file: string): Promise<void> {
  const n = lock.operators.length;
  try {
    checkQuorum(n, lock.threshold);
  } catch (e) {
    throw inconsistent(file, "threshold", errorMessage(e));
  }
  const expectedFork = genesisForkVersionHex(lock.network);
  if (lock.fork_version.toLowerCase() !== expectedFork) {
    throw inconsistent(file, "fork_version", `${lock.fork_version} is not the genesis fork version of ${lock.network} (${expectedFork})`);
  }
  const peerIds = new Set<string>();
  lock.operators.forEach((op, k) => {
    if (op.index !== k + 1) throw inconsistent(file, `operators[${k}].index`, `expected ${k + 1}: operators are listed by index from 1`);
    try {
      peerIdFromString(op.peer_id);
    } catch (e) {
      throw inconsistent(file, `operators[${k}].peer_id`, `not a libp2p peer id: ${errorMessage(e)}`);
    }
    if (peerIds.has(op.peer_id)) throw inconsistent(file, `operators[${k}].peer_id`, "appears twice");
    peerIds.add(op.peer_id);
    const port = Number(op.address.slice(op.address.lastIndexOf(":") + 1));
    if (port < 1 || port > 65535) throw inconsistent(file, `operators[${k}].address`, `port ${port} is out of range`);
  });
  await initHerumi();
  const pubkeys = new Set<string>();
  lock.validators.forEach((v, j) => {
    const at = `validators[${j}]`;
    if (pubkeys.has(v.pubkey.toLowerCase())) throw inconsistent(file, `${at}.pubkey`, "appears twice");
    pubkeys.add(v.pubkey.toLowerCase());
    if (v.share_pubkeys.length !== n) {
      throw inconsistent(file, `${at}.share_pubkeys`, `has ${v.share_pubkeys.length} keys for ${n} operators`);
    }
    if (!isValidAddress(v.fee_recipient)) throw inconsistent(file, `${at}.fee_recipient`, "not an execution address");
    if (!isValidWithdrawalCredentials(fromHex(v.withdrawal_credentials))) {
      throw inconsistent(file, `${at}.withdrawal_credentials`, "expected 0x01 or 0x02 followed by 11 zero bytes and an address");
    }
    checkSharesRecoverPubkey(v.pubkey, v.share_pubkeys, lock.threshold, (field, reason) => inconsistent(file, `${at}.${field}`, reason));
  });
}

/**
 * Every share public key must lie on one polynomial of degree m-1 whose value at 0 is the validator key.
 * Recovering from shares 1..m, then from 1..m-1 plus each later share j, checks all n with n-m+1 recoveries.
 */
function checkSharesRecoverPubkey(
  pubkeyHex: string,
  shareHex: string[],
  threshold: number,
  fail: (field: string, reason: string) => Error,
): void {
  const pubkey = fromHex(pubkeyHex);
  const shares = shareHex.map((h, k) => ({shareIndex: k + 1, pubkey: fromHex(h)}));
  const base = shares.slice(0, threshold - 1);
  for (let j = threshold - 1; j < shares.length; j++) {
    let recovered: Uint8Array;
    try {
      recovered = recoverPublicKey([...base, shares[j] as (typeof shares)[number]]);
    } catch (e) {
      throw fail(`share_pubkeys`, errorMessage(e));
    }
    if (!bytesEqual(recovered, pubkey)) {
      const field = j === threshold - 1 ? "share_pubkeys" : `share_pubkeys[${j}]`;
      throw fail(field, j === threshold - 1 ? `shares 1..${threshold} do not recover the validator's pubkey` : `share ${j + 1} is not a share of the validator's pubkey`);
    }
  }
}

export function operatorFor(lock: ClusterLock, peerId: string): number | undefined {
  return lock.operators.find((o) => o.peer_id === peerId)?.index;
}
