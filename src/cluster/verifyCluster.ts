import {createHash} from "node:crypto";
import {readFile} from "node:fs/promises";
import {join} from "node:path";
import {bytesEqual, fromHex, toHex} from "../hotpath/bytes.js";
import {combinations} from "../hotpath/combinations.js";
import {recoverSignature, sign, verifySignature} from "../hotpath/threshold.js";
import {R3dvError, errorMessage} from "../util/errors.js";
import {DEPOSIT_FILE, KEYS_DIR, LOCK_FILE, keystoreFileName, nodeDirName, passwordFileName} from "./createCluster.js";
import {type DepositDataJson, checkDepositData} from "./deposit.js";
import {IDENTITY_FILE, loadIdentity} from "./identity.js";
import {decryptKeystoreFile, readPasswordFile} from "./keystores.js";
import {loadLock} from "./lock.js";
import type {ClusterLock} from "./lockSchema.js";

export type VerifyClusterErrorType =
  | {code: "VERIFY_IDENTITY_MISMATCH"; node: number; expected: string; actual: string}
  | {code: "VERIFY_SHARE_MISMATCH"; node: number; validator: number; expected: string; actual: string}
  | {code: "VERIFY_SUBSET_FAILED"; validator: number; shares: number[]}
  | {code: "VERIFY_DEPOSIT_INVALID"; validator: number; problems: string[]}
  | {code: "VERIFY_DEPOSIT_MISSING"; file: string; reason: string};

export class VerifyClusterError extends R3dvError<VerifyClusterErrorType> {}

export interface VerifyClusterReport {
  lock: ClusterLock;
  checks: string[];
}

/**
 * Proves a created cluster is usable end to end: lock integrity, each node's identity and share keystores
 * against the lock, every m-subset of shares recovering a signature the validator key verifies, and the
 * deposit data. Stops at the first failure with an error that names it; `onCheck` reports each check passed.
 */
export async function verifyCluster(
  dir: string,
  onCheck: (line: string) => void = () => {},
): Promise<VerifyClusterReport> {
  const checks: string[] = [];
  const passed = (line: string): void => {
    checks.push(line);
    onCheck(line);
  };
  const lock = await loadLock(join(dir, LOCK_FILE));
  passed(
    `lock ${lock.lock_hash}: schema, consistency, hash and every operator's signature ok (${lock.operators.length} ` +
      `operators, threshold ${lock.threshold}, ${lock.validators.length} validators, ${lock.network})`,
  );

  const n = lock.operators.length;
  // shares[j][i] = share i+1 of validator j, decrypted.
  const shares: Uint8Array[][] = lock.validators.map(() => []);
  for (const op of lock.operators) {
    const nodeDir = join(dir, nodeDirName(op.index));
    const identity = await loadIdentity(join(nodeDir, IDENTITY_FILE));
    if (identity.peerId !== op.peer_id) {
      throw new VerifyClusterError(
        {code: "VERIFY_IDENTITY_MISMATCH", node: op.index, expected: op.peer_id, actual: identity.peerId},
        `${nodeDir}/${IDENTITY_FILE} is peer ${identity.peerId}, but the lock says operator ${op.index} is ${op.peer_id}`,
      );
    }
    for (const [j, v] of lock.validators.entries()) {
      const keysDir = join(nodeDir, KEYS_DIR);
      const password = await readPasswordFile(join(keysDir, passwordFileName(j)));
      const ks = await decryptKeystoreFile(join(keysDir, keystoreFileName(j)), password);
      const expected = v.share_pubkeys[op.index - 1] as string;
      if (!bytesEqual(ks.pubkey, fromHex(expected))) {
        throw new VerifyClusterError(
          {code: "VERIFY_SHARE_MISMATCH", node: op.index, validator: j, expected, actual: toHex(ks.pubkey)},
          `${ks.file} holds share key ${toHex(ks.pubkey)}, but the lock lists ${expected} for operator ${op.index} of validator ${j}`,
        );
      }
      (shares[j] as Uint8Array[])[op.index - 1] = ks.secret;
    }
    passed(
      `node-${op.index}: identity ${op.peer_id} and ${lock.validators.length} share keystore(s) decrypt and match the lock`,
    );
  }

  // A message no other protocol signs, so this check can never produce a usable signature.
  const message = createHash("sha256").update(`r3dv verify-cluster ${lock.lock_hash}`).digest();
  let subsetCount = 0;
  for (const [j, v] of lock.validators.entries()) {
    const pubkey = fromHex(v.pubkey);
    const partials = (shares[j] as Uint8Array[]).map((s, i) => ({shareIndex: i + 1, signature: sign(s, message)}));
    for (const subset of combinations(n, lock.threshold)) {
      const sig = recoverSignature(subset.map((i) => partials[i] as (typeof partials)[number]));
      if (!verifySignature(pubkey, message, sig)) {
        const names = subset.map((i) => i + 1);
        throw new VerifyClusterError(
          {code: "VERIFY_SUBSET_FAILED", validator: j, shares: names},
          `validator ${j} (${v.pubkey}): shares ${names.join(",")} do not recover a valid signature`,
        );
      }
      subsetCount++;
    }
    (shares[j] as Uint8Array[]).forEach((s) => s.fill(0));
  }
  passed(
    `threshold signing: all ${subsetCount} ${lock.threshold}-of-${n} share subsets recover signatures that verify under their validator key`,
  );

  const depositFile = join(dir, DEPOSIT_FILE);
  let deposits: DepositDataJson[];
  try {
    deposits = JSON.parse(await readFile(depositFile, "utf8")) as DepositDataJson[];
    if (!Array.isArray(deposits)) throw new Error("expected a JSON array");
  } catch (e) {
    throw new VerifyClusterError(
      {code: "VERIFY_DEPOSIT_MISSING", file: depositFile, reason: errorMessage(e)},
      `${depositFile}: ${errorMessage(e)}`,
    );
  }
  for (const [j, v] of lock.validators.entries()) {
    const entry = deposits.find((d) => "0x" + d.pubkey === v.pubkey.toLowerCase());
    const problems =
      entry === undefined ? ["no deposit entry for this validator"] : checkDepositData(entry, lock.network);
    if (entry && "0x" + entry.withdrawal_credentials !== v.withdrawal_credentials.toLowerCase())
      problems.push("withdrawal_credentials differ from the lock");
    if (problems.length > 0) {
      throw new VerifyClusterError(
        {code: "VERIFY_DEPOSIT_INVALID", validator: j, problems},
        `deposit data of validator ${j} (${v.pubkey}): ${problems.join("; ")}`,
      );
    }
  }
  passed(
    `deposit data: ${lock.validators.length} deposit(s) verify under ${lock.network}'s deposit domain with the lock's withdrawal credentials`,
  );
  return {lock, checks};
}
