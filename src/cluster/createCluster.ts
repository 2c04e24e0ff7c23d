import {randomBytes, randomUUID} from "node:crypto";
import {mkdir, mkdtemp, readdir, rename, rm, stat} from "node:fs/promises";
import {basename, dirname, join, resolve} from "node:path";
import {SecretKey} from "@chainsafe/blst";
import {isValidAddress, isValidChecksumAddress} from "@ethereumjs/util";
import {toHex} from "../hotpath/bytes.js";
import {initHerumi} from "../hotpath/herumi.js";
import {interopSecretKey} from "../hotpath/interop.js";
import {recoverAndVerify, secretToPublicKey, sign, splitSecretKey} from "../hotpath/threshold.js";
import {R3dvError, errorMessage} from "../util/errors.js";
import {encryptKeystores} from "../workers/keystorePool.js";
import type {EncryptKeystoreTask} from "../workers/keystoreWorker.js";
import {DEFAULT_DEPOSIT_GWEI, type DepositDataJson, buildDepositData, depositSigningRoot} from "./deposit.js";
import {IDENTITY_FILE, generateIdentity, writeIdentity} from "./identity.js";
import {type Kdf, decryptKeystoreFile, generatePassword, readPasswordFile} from "./keystores.js";
import {computeLockHash} from "./lock.js";
import {type ClusterLock, LOCK_VERSION, type LockBody} from "./lockSchema.js";
import {signLockHash} from "./lockSignature.js";
import {type NetworkName, genesisForkVersionHex} from "./network.js";
import {writePublicFile, writeSecretFile} from "./fsSecure.js";
import {checkQuorum, defaultThreshold} from "./quorum.js";
import {withdrawalCredentials} from "./withdrawal.js";
import {DEFAULT_GAS_LIMIT, gasLimitProblem} from "./gasLimit.js";

export const LOCK_FILE = "cluster-lock.json";
export const DEPOSIT_FILE = "deposit-data.json";
export const KEYS_DIR = "validator_keys";
/** First p2p port of the default operator addresses: node i listens on 9000 + i. */
export const DEFAULT_BASE_P2P_PORT = 9000;

export const nodeDirName = (index: number): string => `node-${index}`;
export const keystoreFileName = (validator: number): string => `keystore-${validator}.json`;
export const passwordFileName = (validator: number): string => `keystore-${validator}.txt`;

export type KeySource =
  | {kind: "random"; count: number}
  | {kind: "keystores"; dir: string; passwordFile: string}
  | {kind: "interop"; start: number; count: number};

export interface CreateClusterOptions {
  nodes: number;
  threshold?: number;
  keys: KeySource;
  network: NetworkName;
  withdrawalAddress: string;
  compounding?: boolean;
  /** Defaults to the withdrawal address. */
  feeRecipient?: string;
  /** Builder registrations' gas limit; DEFAULT_GAS_LIMIT when absent. */
  gasLimit?: number;
  /** host:port per node; default 127.0.0.1:9000+i. */
  operators?: string[];
  kdf: Kdf;
  out: string;
  name?: string;
  onProgress?: (message: string) => void;
}

export type CreateClusterErrorType =
  | {code: "CLUSTER_BAD_OPTION"; option: string; reason: string}
  | {code: "CLUSTER_OUT_NOT_EMPTY"; out: string}
  | {code: "CLUSTER_SELF_CHECK_FAILED"; validator: number; reason: string};

export class CreateClusterError extends R3dvError<CreateClusterErrorType> {}

function badOption(option: string, reason: string): CreateClusterError {
  return new CreateClusterError({code: "CLUSTER_BAD_OPTION", option, reason}, `${option}: ${reason}`);
}

/**
 * Interop secret keys are derived from their index by a published formula: anyone can sign, slash or exit such a
 * validator. Refused for every network but the devnet, so no code path writes interop deposit data for real stake.
 */
export function checkInteropNetwork(keys: KeySource, network: NetworkName): void {
  if (keys.kind !== "interop" || network === "devnet") return;
  throw badOption(
    "--interop",
    `interop keys are public (anyone can derive their secret keys and sign, slash or exit the validators), so they ` +
      `are refused for --network ${network}; use them only with --network devnet, and for ${network} create new keys ` +
      `with --validators V or split your own with --split-keystores DIR`,
  );
}

/** A mixed-case address must carry a valid EIP-55 checksum: a typo in a withdrawal address loses the stake. */
export function checkAddress(option: string, address: string): void {
  if (!isValidAddress(address))
    throw badOption(option, `${JSON.stringify(address)} is not a 0x-prefixed 20-byte address`);
  const hex = address.slice(2);
  if (hex !== hex.toLowerCase() && hex !== hex.toUpperCase() && !isValidChecksumAddress(address)) {
    throw badOption(option, `${address} has a wrong EIP-55 checksum: check it for a typo`);
  }
}

function checkOperatorAddress(address: string): void {
  const m = /^([^\s:]+):(\d{1,5})$/.exec(address);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw badOption("--operators", `${JSON.stringify(address)} is not host:port`);
}

/** Everything is checked before the first byte is written, so a bad flag never leaves a half-made cluster. */
async function validateOptions(
  opts: CreateClusterOptions,
): Promise<{threshold: number; operators: string[]; warnings: string[]}> {
  const threshold = opts.threshold ?? defaultThreshold(opts.nodes);
  const warnings: string[] = [];
  try {
    const {warning} = checkQuorum(opts.nodes, threshold);
    if (warning) warnings.push(warning);
  } catch (e) {
    throw badOption(opts.threshold === undefined ? "--nodes" : "--threshold", errorMessage(e));
  }
  checkAddress("--withdrawal-address", opts.withdrawalAddress);
  if (opts.feeRecipient !== undefined) checkAddress("--fee-recipient", opts.feeRecipient);
  const gasProblem = gasLimitProblem(opts.gasLimit ?? DEFAULT_GAS_LIMIT);
  if (gasProblem) throw badOption("--gas-limit", gasProblem);
  const operators =
    opts.operators ?? Array.from({length: opts.nodes}, (_, i) => `127.0.0.1:${DEFAULT_BASE_P2P_PORT + i + 1}`);
  if (operators.length !== opts.nodes)
    throw badOption("--operators", `lists ${operators.length} addresses for ${opts.nodes} nodes`);
  operators.forEach(checkOperatorAddress);
  if (new Set(operators).size !== operators.length) throw badOption("--operators", "an address appears twice");
  const k = opts.keys;
  checkInteropNetwork(k, opts.network);
  if ((k.kind === "random" || k.kind === "interop") && (!Number.isInteger(k.count) || k.count < 1)) {
    throw badOption(k.kind === "random" ? "--validators" : "--interop", `needs at least one validator, got ${k.count}`);
  }
  if (k.kind === "interop" && (!Number.isInteger(k.start) || k.start < 0))
    throw badOption("--interop", `start must be a non-negative integer`);
  await checkOutDir(opts.out);
  return {threshold, operators, warnings};
}

async function checkOutDir(out: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    if ((e as NodeJS.ErrnoException).code === "ENOTDIR") throw badOption("--out", `${out} is a file, not a folder`);
    throw badOption("--out", errorMessage(e));
  }
  if (entries.length > 0) {
    throw new CreateClusterError(
      {code: "CLUSTER_OUT_NOT_EMPTY", out},
      `--out ${out} is not empty: choose a new folder, r3dv never overwrites keys`,
    );
  }
}

/** Loads the validators' secrets; they exist only in memory and are wiped once split. */
async function loadSecrets(keys: KeySource): Promise<Uint8Array[]> {
  switch (keys.kind) {
    case "random":
      return Array.from({length: keys.count}, () => SecretKey.fromKeygen(randomBytes(32)).toBytes());
    case "interop":
      return Array.from({length: keys.count}, (_, i) => interopSecretKey(keys.start + i));
    case "keystores": {
      let files: string[];
      try {
        files = (await readdir(keys.dir)).filter((f) => f.endsWith(".json") && f.startsWith("keystore")).sort();
      } catch (e) {
        throw badOption("--split-keystores", `cannot read ${keys.dir}: ${errorMessage(e)}`);
      }
      if (files.length === 0) throw badOption("--split-keystores", `no keystore*.json files in ${keys.dir}`);
      const password = await readPasswordFile(keys.passwordFile);
      const secrets: Uint8Array[] = [];
      for (const f of files) secrets.push((await decryptKeystoreFile(join(keys.dir, f), password)).secret);
      return secrets;
    }
  }
}

interface SplitValidator {
  pubkey: Uint8Array;
  shares: Uint8Array[];
  sharePubkeys: Uint8Array[];
  deposit: DepositDataJson;
}

/**
 * Splits one key and proves the shares work before anything is written: the deposit is signed by the first
 * m shares, recovered, and verified under the validator's key. The full secret is wiped here.
 */
function splitValidator(
  secret: Uint8Array,
  j: number,
  threshold: number,
  nodes: number,
  network: NetworkName,
  creds: Uint8Array,
): SplitValidator {
  const pubkey = secretToPublicKey(secret);
  const shares = splitSecretKey(secret, threshold, nodes);
  secret.fill(0);
  const root = depositSigningRoot(network, pubkey, creds, DEFAULT_DEPOSIT_GWEI);
  const sharePubkeys = shares.map(secretToPublicKey);
  const partials = shares.slice(0, threshold).map((s, i) => ({shareIndex: i + 1, signature: sign(s, root)}));
  const byIndex = Object.fromEntries(sharePubkeys.map((pk, i) => [i + 1, pk]));
  const result = recoverAndVerify({message: root, pubkey, sharePubkeys: byIndex, threshold, partials});
  if (!result.ok) {
    throw new CreateClusterError(
      {code: "CLUSTER_SELF_CHECK_FAILED", validator: j, reason: result.reason},
      `validator ${j}: shares do not recover a valid deposit signature`,
    );
  }
  return {
    pubkey,
    shares,
    sharePubkeys,
    deposit: buildDepositData(network, pubkey, creds, DEFAULT_DEPOSIT_GWEI, result.signature),
  };
}

export const shareDescription = (share: number, nodes: number, threshold: number, pubkey: Uint8Array): string =>
  `r3dv share ${share} of ${nodes} (threshold ${threshold}) of validator ${toHex(pubkey)}`;

/** One EIP-2335 keystore to write: validator j's share, in `dir` as keystore-j.json beside its password file. */
export interface ShareKeystore {
  dir: string;
  validator: number;
  secret: Uint8Array;
  description: string;
}

/**
 * Encrypts share keystores in the worker pool (the KDF is the cost: all in one batch so it runs on every core) and
 * writes each with a new random password, both 0600 and never over an existing file.
 */
export async function writeShareKeystores(keystores: ShareKeystore[], kdf: Kdf): Promise<void> {
  const tasks: EncryptKeystoreTask[] = [];
  for (const k of keystores) {
    const password = generatePassword();
    await writeSecretFile(join(k.dir, passwordFileName(k.validator)), password);
    tasks.push({secret: k.secret, password, kdf, description: k.description});
  }
  const encrypted = await encryptKeystores(tasks);
  for (const [i, k] of keystores.entries())
    await writeSecretFile(join(k.dir, keystoreFileName(k.validator)), encrypted[i] as string);
}

export interface CreatedCluster {
  lock: ClusterLock;
  out: string;
  warnings: string[];
}

export async function createCluster(opts: CreateClusterOptions): Promise<CreatedCluster> {
  const progress = opts.onProgress ?? (() => {});
  const {threshold, operators, warnings} = await validateOptions(opts);
  warnings.forEach((w) => progress(`warning: ${w}`));
  await initHerumi();
  const secrets = await loadSecrets(opts.keys);
  const creds = withdrawalCredentials(opts.withdrawalAddress, opts.compounding ?? false);
  const feeRecipient = (opts.feeRecipient ?? opts.withdrawalAddress).toLowerCase();
  const validators = secrets.map((s, j) => splitValidator(s, j, threshold, opts.nodes, opts.network, creds));
  progress(`split ${validators.length} validator key(s) into ${opts.nodes} shares each, threshold ${threshold}`);

  const out = resolve(opts.out);
  await mkdir(dirname(out), {recursive: true});
  // Build in a sibling temp folder and rename at the end: a failure or Ctrl-C leaves no partial cluster at --out.
  const tmp = await mkdtemp(join(dirname(out), `.${basename(out)}.partial-`));
  try {
    const identities = [];
    for (let i = 1; i <= opts.nodes; i++) {
      const nodeDir = join(tmp, nodeDirName(i));
      await mkdir(join(nodeDir, KEYS_DIR), {recursive: true, mode: 0o700});
      const identity = await generateIdentity();
      await writeIdentity(join(nodeDir, IDENTITY_FILE), identity.privateKey);
      identities.push(identity);
    }
    const keystores: ShareKeystore[] = [];
    for (let i = 1; i <= opts.nodes; i++) {
      for (const [j, v] of validators.entries()) {
        keystores.push({
          dir: join(tmp, nodeDirName(i), KEYS_DIR),
          validator: j,
          secret: v.shares[i - 1] as Uint8Array,
          description: shareDescription(i, opts.nodes, threshold, v.pubkey),
        });
      }
    }
    progress(`encrypting ${keystores.length} share keystore(s) with ${opts.kdf}`);
    await writeShareKeystores(keystores, opts.kdf);
    for (const v of validators) v.shares.forEach((s) => s.fill(0));

    const body: LockBody = {
      version: LOCK_VERSION,
      name: opts.name ?? "r3dv-cluster",
      uuid: randomUUID(),
      created_at: new Date().toISOString(),
      network: opts.network,
      fork_version: genesisForkVersionHex(opts.network),
      threshold,
      operators: identities.map((id, k) => ({index: k + 1, peer_id: id.peerId, address: operators[k] as string})),
      validators: validators.map((v) => ({
        pubkey: toHex(v.pubkey),
        share_pubkeys: v.sharePubkeys.map(toHex),
        fee_recipient: feeRecipient,
        withdrawal_credentials: toHex(creds),
        gas_limit: opts.gasLimit ?? DEFAULT_GAS_LIMIT,
      })),
    };
    const lockHash = computeLockHash(body);
    // create-cluster holds every operator's identity, so it signs for all; each node checks every signature.
    const signatures = await Promise.all(identities.map((id) => signLockHash(id.privateKey, lockHash)));
    const lock: ClusterLock = {...body, lock_hash: lockHash, node_signatures: signatures};
    await writePublicFile(join(tmp, LOCK_FILE), JSON.stringify(lock, null, 2) + "\n");
    await writePublicFile(
      join(tmp, DEPOSIT_FILE),
      JSON.stringify(
        validators.map((v) => v.deposit),
        null,
        2,
      ) + "\n",
    );
    await moveIntoPlace(tmp, out);
    return {lock, out, warnings};
  } catch (e) {
    await rm(tmp, {recursive: true, force: true});
    throw e;
  }
}

/** rename(2) replaces an empty folder atomically; a non-empty one was refused before any work began. */
async function moveIntoPlace(tmp: string, out: string): Promise<void> {
  try {
    await rename(tmp, out);
  } catch (e) {
    const existing = await stat(out).catch(() => null);
    if (existing !== null) await checkOutDir(out);
    throw badOption("--out", `cannot move the new cluster into ${out}: ${errorMessage(e)}`);
  }
}
