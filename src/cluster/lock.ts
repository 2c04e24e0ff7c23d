import {readFile} from "node:fs/promises";
import {isValidAddress} from "@ethereumjs/util";
import {peerIdFromString} from "@libp2p/peer-id";
import type {z} from "zod";
import {bytesEqual, fromHex} from "../hotpath/bytes.js";
import {initHerumi} from "../hotpath/herumi.js";
import {recoverPublicKey} from "../hotpath/threshold.js";
import {R3dvError, errorMessage} from "../util/errors.js";
import {canonicalHash} from "./canonicalHash.js";
import {type ClusterLock, type LockBody, lockSchema} from "./lockSchema.js";
import {findBadLockSignature} from "./lockSignature.js";
import {genesisForkVersionHex} from "./network.js";
import {checkQuorum} from "./quorum.js";
import {isValidWithdrawalCredentials} from "./withdrawal.js";

export type LockErrorType =
  | {code: "LOCK_UNREADABLE"; file: string; reason: string}
  | {code: "LOCK_MALFORMED"; file: string; field: string; reason: string}
  | {code: "LOCK_INCONSISTENT"; file: string; field: string; reason: string}
  | {code: "LOCK_HASH_MISMATCH"; file: string; expected: string; actual: string}
  | {code: "LOCK_UNSIGNED"; file: string}
  | {code: "LOCK_SIGNATURE_MISSING"; file: string; operator: number; peerId: string}
  | {code: "LOCK_SIGNATURE_INVALID"; file: string; operator: number; peerId: string};

export class LockError extends R3dvError<LockErrorType> {}

/** Locks written before r3dv signed them have no `node_signatures`: read so the refusal can say so and what to do. */
const lockFileSchema = lockSchema.extend({node_signatures: lockSchema.shape.node_signatures.optional()});

/** The canonical hash of every field but `lock_hash` and `node_signatures` (the signatures are over this hash). */
export function computeLockHash(body: LockBody): string {
  const {lock_hash: _hash, node_signatures: _signatures, ...rest} = body as Partial<ClusterLock>;
  return canonicalHash(rest);
}

export function zodField(issue: z.core.$ZodIssue): string {
  return (
    issue.path
      .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
      .join("")
      .replace(/^\./, "") || "(root)"
  );
}

/** Parses and fully checks a lock: schema, internal consistency, the hash, then every operator's signature. */
export async function parseLock(text: string, file: string): Promise<ClusterLock> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LockError(
      {code: "LOCK_MALFORMED", file, field: "(root)", reason: errorMessage(e)},
      `${file} is not valid JSON: ${errorMessage(e)}`,
    );
  }
  const parsed = lockFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const field = zodField(issue);
    throw new LockError(
      {code: "LOCK_MALFORMED", file, field, reason: issue.message},
      `${file}: field ${field}: ${issue.message}`,
    );
  }
  const {node_signatures: signatures, ...unsigned} = parsed.data;
  await checkConsistency(unsigned, file);
  const actual = computeLockHash(unsigned);
  if (actual !== unsigned.lock_hash.toLowerCase()) {
    throw new LockError(
      {code: "LOCK_HASH_MISMATCH", file, expected: unsigned.lock_hash, actual},
      `${file}: lock_hash ${unsigned.lock_hash} does not match the content (hash ${actual}): the file was changed ` +
        `after create-cluster; get the original cluster-lock.json from another operator`,
    );
  }
  if (signatures === undefined) {
    throw new LockError(
      {code: "LOCK_UNSIGNED", file},
      `${file} has no node_signatures: it was written before r3dv signed locks, so nothing proves its operators ` +
        `approved this content; create the cluster again with r3dv create-cluster (--split-keystores keeps ` +
        `validators whose keystores you hold) and give every operator the new files`,
    );
  }
  const lock = {...unsigned, node_signatures: signatures};
  checkSignatures(lock, file);
  return lock;
}

/**
 * A hash only detects accidents: whoever can write the file can re-hash it. Every operator's signature over the
 * hash is required, so a node refuses any content its own operator (whose identity key never leaves its node
 * dir) did not sign, and the others' signatures show they approved the same content.
 */
function checkSignatures(lock: ClusterLock, file: string): void {
  const n = lock.operators.length;
  if (lock.node_signatures.length > n) {
    throw inconsistent(file, "node_signatures", `has ${lock.node_signatures.length} signatures for ${n} operators`);
  }
  const bad = findBadLockSignature(lock.operators, lock.lock_hash, lock.node_signatures);
  if (bad === undefined) return;
  const {operator, peerId} = bad;
  const who = `operator ${operator} (${peerId})`;
  switch (bad.problem) {
    case "not_ed25519":
      throw inconsistent(
        file,
        `operators[${operator - 1}].peer_id`,
        `is not an Ed25519 peer id: r3dv checks ${who}'s lock signature with the public key such an id carries`,
      );
    case "missing":
      throw new LockError(
        {code: "LOCK_SIGNATURE_MISSING", file, operator, peerId},
        `${file}: node_signatures[${operator - 1}] is missing: ${who} has not signed lock_hash ${lock.lock_hash}; ` +
          `use the cluster-lock.json create-cluster wrote, which every operator signed`,
      );
    case "invalid":
      throw new LockError(
        {code: "LOCK_SIGNATURE_INVALID", file, operator, peerId},
        `${file}: node_signatures[${operator - 1}], the signature of ${who}, does not verify over lock_hash ` +
          `${lock.lock_hash}: the lock was changed and re-hashed after its operators signed it, or the signature was ` +
          `altered; do not run it, get the original cluster-lock.json from another operator`,
      );
  }
}

export async function loadLock(file: string): Promise<ClusterLock> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new LockError(
      {code: "LOCK_UNREADABLE", file, reason: errorMessage(e)},
      `cannot read cluster lock ${file}: ${errorMessage(e)}`,
    );
  }
  return parseLock(text, file);
}

function inconsistent(file: string, field: string, reason: string): LockError {
  return new LockError({code: "LOCK_INCONSISTENT", file, field, reason}, `${file}: field ${field}: ${reason}`);
}

/** Checks what the schema cannot: relations between fields, and that share keys belong to their validator. */
async function checkConsistency(lock: LockBody, file: string): Promise<void> {
  const n = lock.operators.length;
  try {
    checkQuorum(n, lock.threshold);
  } catch (e) {
    throw inconsistent(file, "threshold", errorMessage(e));
  }
  const expectedFork = genesisForkVersionHex(lock.network);
  if (lock.fork_version.toLowerCase() !== expectedFork) {
    throw inconsistent(
      file,
      "fork_version",
      `${lock.fork_version} is not the genesis fork version of ${lock.network} (${expectedFork})`,
    );
  }
  const peerIds = new Set<string>();
  lock.operators.forEach((op, k) => {
    if (op.index !== k + 1)
      throw inconsistent(file, `operators[${k}].index`, `expected ${k + 1}: operators are listed by index from 1`);
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
      throw inconsistent(
        file,
        `${at}.withdrawal_credentials`,
        "expected 0x01 or 0x02 followed by 11 zero bytes and an address",
      );
    }
    checkSharesRecoverPubkey(v.pubkey, v.share_pubkeys, lock.threshold, (field, reason) =>
      inconsistent(file, `${at}.${field}`, reason),
    );
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
      throw fail(
        field,
        j === threshold - 1
          ? `shares 1..${threshold} do not recover the validator's pubkey`
          : `share ${j + 1} is not a share of the validator's pubkey`,
      );
    }
  }
}

export function operatorFor(lock: ClusterLock, peerId: string): number | undefined {
  return lock.operators.find((o) => o.peer_id === peerId)?.index;
}
