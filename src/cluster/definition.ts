import {randomUUID} from "node:crypto";
import {readFile} from "node:fs/promises";
import {writePublicFile} from "./fsSecure.js";
import {isValidAddress} from "@ethereumjs/util";
import {peerIdFromString} from "@libp2p/peer-id";
import type {z} from "zod";
import {R3dvError, errorMessage} from "../util/errors.js";
import {canonicalHash} from "./canonicalHash.js";
import {CreateClusterError, checkAddress} from "./createCluster.js";
import {type ClusterDefinition, DEFINITION_VERSION, type DefinitionBody, definitionSchema} from "./definitionSchema.js";
import {zodField} from "./lock.js";
import {type LockOperator, operatorSchema} from "./lockSchema.js";
import {type NetworkName, genesisForkVersionHex, isNetworkName, NETWORK_NAMES} from "./network.js";
import {checkQuorum, defaultThreshold} from "./quorum.js";
import {DEFAULT_GAS_LIMIT, gasLimitProblem} from "./gasLimit.js";

export const DEFINITION_FILE = "cluster-definition.json";

export type DefinitionErrorType =
  | {code: "DEFINITION_BAD_OPTION"; option: string; reason: string}
  | {code: "DEFINITION_OUT_EXISTS"; file: string}
  | {code: "DEFINITION_UNREADABLE"; file: string; reason: string}
  | {code: "DEFINITION_MALFORMED"; file: string; field: string; reason: string}
  | {code: "DEFINITION_HASH_MISMATCH"; file: string; expected: string; actual: string};

export class DefinitionError extends R3dvError<DefinitionErrorType> {}

const badOption = (option: string, reason: string) =>
  new DefinitionError({code: "DEFINITION_BAD_OPTION", option, reason}, `${option}: ${reason}`);

export interface DefinitionOptions {
  /** PEERID@HOST:PORT per operator, in operator order (operator i holds share i). */
  operators: string[];
  threshold?: number;
  validators: number;
  network: string;
  withdrawalAddress: string;
  /** Defaults to the withdrawal address. */
  feeRecipient?: string;
  compounding?: boolean;
  /** Builder registrations' gas limit; DEFAULT_GAS_LIMIT when absent. */
  gasLimit?: number;
  name?: string;
}

/**
 * Why a peer id is refused, or undefined. Only Ed25519 ids carry the public key that lock and DKG signatures are
 * checked with (lockSignature.ts), so an RSA or secp256k1 operator could never sign the lock.
 */
function peerIdProblem(peerId: string): string | undefined {
  try {
    const type = peerIdFromString(peerId).publicKey?.type;
    return type === "Ed25519" ? undefined : `is a ${type ?? "keyless"} peer id; r3dv needs Ed25519 (create-identity)`;
  } catch (e) {
    return `is not a libp2p peer id: ${errorMessage(e)}`;
  }
}

function addressProblem(address: string): string | undefined {
  if (!operatorSchema.shape.address.safeParse(address).success) return "is not host:port";
  const port = Number(address.slice(address.lastIndexOf(":") + 1));
  return port < 1 || port > 65535 ? `port ${port} is out of range` : undefined;
}

/** Repeated peer ids or addresses: one machine holding two shares would count twice towards the threshold. */
function firstRepeat(values: string[]): number {
  return values.findIndex((v, k) => values.indexOf(v) !== k);
}

function parseOperator(entry: string, index: number): LockOperator {
  const at = entry.lastIndexOf("@");
  const peerId = entry.slice(0, at);
  const address = entry.slice(at + 1);
  if (at <= 0) throw badOption("--operators", `${JSON.stringify(entry)} is not PEERID@HOST:PORT`);
  const problem = peerIdProblem(peerId) ?? addressProblem(address);
  if (problem !== undefined) throw badOption("--operators", `${JSON.stringify(entry)}: ${problem}`);
  return {index, peer_id: peerId, address};
}

/** The address checks create-cluster makes, reported as this command's own bad option. */
function checkAddressOption(option: string, address: string): void {
  try {
    checkAddress(option, address);
  } catch (e) {
    if (e instanceof CreateClusterError && e.type.code === "CLUSTER_BAD_OPTION") throw badOption(option, e.type.reason);
    throw e;
  }
}

export function computeDefinitionHash(body: DefinitionBody): string {
  const {definition_hash: _hash, ...rest} = body as Partial<ClusterDefinition>;
  return canonicalHash(rest);
}

/**
 * Builds a definition from the command's flags with create-cluster's defaults and refusals (threshold
 * ceil(2n/3), no minority threshold, checksummed addresses). Returns create-cluster's quorum warning if any.
 */
export function buildDefinition(opts: DefinitionOptions): {definition: ClusterDefinition; warning?: string} {
  const operators = opts.operators.map((e, k) => parseOperator(e.trim(), k + 1));
  for (const field of ["peer_id", "address"] as const) {
    const k = firstRepeat(operators.map((o) => o[field]));
    if (k >= 0) throw badOption("--operators", `${operators[k]?.[field]} appears twice`);
  }
  const threshold = opts.threshold ?? defaultThreshold(operators.length);
  let warning: string | undefined;
  try {
    warning = checkQuorum(operators.length, threshold).warning;
  } catch (e) {
    throw badOption(opts.threshold === undefined ? "--operators" : "--threshold", errorMessage(e));
  }
  if (!Number.isInteger(opts.validators) || opts.validators < 1)
    throw badOption("--validators", `needs at least one validator, got ${opts.validators}`);
  if (!isNetworkName(opts.network))
    throw badOption("--network", `unknown network ${JSON.stringify(opts.network)}; one of ${NETWORK_NAMES.join(", ")}`);
  checkAddressOption("--withdrawal-address", opts.withdrawalAddress);
  if (opts.feeRecipient !== undefined) checkAddressOption("--fee-recipient", opts.feeRecipient);
  const gasLimit = opts.gasLimit ?? DEFAULT_GAS_LIMIT;
  const gasProblem = gasLimitProblem(gasLimit);
  if (gasProblem) throw badOption("--gas-limit", gasProblem);
  const network: NetworkName = opts.network;
  const body: DefinitionBody = {
    version: DEFINITION_VERSION,
    name: opts.name ?? "r3dv-cluster",
    uuid: randomUUID(),
    created_at: new Date().toISOString(),
    network,
    fork_version: genesisForkVersionHex(network),
    threshold,
    operators,
    validators: opts.validators,
    withdrawal_address: opts.withdrawalAddress.toLowerCase(),
    compounding: opts.compounding ?? false,
    fee_recipient: (opts.feeRecipient ?? opts.withdrawalAddress).toLowerCase(),
    gas_limit: gasLimit,
  };
  return {definition: {...body, definition_hash: computeDefinitionHash(body)}, warning};
}

/** Parses and checks a definition: schema, the relations between fields, then the hash over the content. */
export function parseDefinition(text: string, file: string): ClusterDefinition {
  const malformed = (field: string, reason: string) =>
    new DefinitionError({code: "DEFINITION_MALFORMED", file, field, reason}, `${file}: field ${field}: ${reason}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw malformed("(root)", `not valid JSON: ${errorMessage(e)}`);
  }
  const parsed = definitionSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    throw malformed(zodField(issue), issue.message);
  }
  const def = parsed.data;
  try {
    checkQuorum(def.operators.length, def.threshold);
  } catch (e) {
    throw malformed("threshold", errorMessage(e));
  }
  if (def.fork_version.toLowerCase() !== genesisForkVersionHex(def.network))
    throw malformed("fork_version", `is not the genesis fork version of ${def.network}`);
  def.operators.forEach((op, k) => {
    if (op.index !== k + 1)
      throw malformed(`operators[${k}].index`, `expected ${k + 1}: operators are numbered from 1`);
    const problem = peerIdProblem(op.peer_id) ?? addressProblem(op.address);
    if (problem !== undefined) throw malformed(`operators[${k}]`, problem);
  });
  for (const field of ["peer_id", "address"] as const) {
    const k = firstRepeat(def.operators.map((o) => o[field]));
    if (k >= 0) throw malformed(`operators[${k}].${field}`, "appears twice");
  }
  for (const field of ["withdrawal_address", "fee_recipient"] as const)
    if (!isValidAddress(def[field])) throw malformed(field, "not an execution address");
  const actual = computeDefinitionHash(def);
  if (actual !== def.definition_hash.toLowerCase()) {
    throw new DefinitionError(
      {code: "DEFINITION_HASH_MISMATCH", file, expected: def.definition_hash, actual},
      `${file}: definition_hash ${def.definition_hash} does not match the content (hash ${actual}): the file was ` +
        `changed after create-definition; get the original from whoever wrote it and compare it with the others'`,
    );
  }
  return def;
}

export async function loadDefinition(file: string): Promise<ClusterDefinition> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new DefinitionError(
      {code: "DEFINITION_UNREADABLE", file, reason: errorMessage(e)},
      `cannot read cluster definition ${file}: ${errorMessage(e)}`,
    );
  }
  return parseDefinition(text, file);
}

/** Never overwrites: a definition others may already have checked must not change under them. */
export async function writeDefinition(file: string, definition: ClusterDefinition): Promise<void> {
  try {
    await writePublicFile(file, JSON.stringify(definition, null, 2) + "\n");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST")
      throw new DefinitionError(
        {code: "DEFINITION_OUT_EXISTS", file},
        `--out ${file} already exists: choose a new file`,
      );
    throw badOption("--out", `cannot write ${file}: ${errorMessage(e)}`);
  }
}
