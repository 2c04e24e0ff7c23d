import {DOMAIN_DEPOSIT} from "@lodestar/params";
import {computeDomain, computeSigningRoot} from "@lodestar/state-transition";
import {ssz} from "@lodestar/types";
import {bytesEqual, fromHex, toHex} from "../hotpath/bytes.js";
import {verifySignature} from "../hotpath/threshold.js";
import {type NetworkName, genesisForkVersion} from "./network.js";

/** 32 ETH in gwei: the activation deposit for a 0x01 validator and the usual first deposit for 0x02. */
export const DEFAULT_DEPOSIT_GWEI = 32_000_000_000;

/** Deposits are signed with the genesis fork version and a zero validators root (consensus specs, deposits). */
const ZERO_ROOT = new Uint8Array(32);

/** The launchpad's format (staking-deposit-cli's deposit_data-*.json): hex without 0x, amount in gwei. */
export interface DepositDataJson {
  pubkey: string;
  withdrawal_credentials: string;
  amount: number;
  signature: string;
  deposit_message_root: string;
  deposit_data_root: string;
  fork_version: string;
  network_name: string;
  deposit_cli_version: string;
}

/** Version the launchpad expects in the field; it checks the field exists and is at least 1.0.0. */
const DEPOSIT_CLI_VERSION = "2.7.0";

export function depositDomain(network: NetworkName): Uint8Array {
  return computeDomain(DOMAIN_DEPOSIT, genesisForkVersion(network), ZERO_ROOT);
}

export function depositSigningRoot(
  network: NetworkName,
  pubkey: Uint8Array,
  withdrawalCredentials: Uint8Array,
  amountGwei: number,
): Uint8Array {
  const message = {pubkey, withdrawalCredentials, amount: amountGwei};
  return computeSigningRoot(ssz.phase0.DepositMessage, message, depositDomain(network));
}

const strip = (b: Uint8Array) => toHex(b).slice(2);

export function buildDepositData(
  network: NetworkName,
  pubkey: Uint8Array,
  withdrawalCredentials: Uint8Array,
  amountGwei: number,
  signature: Uint8Array,
): DepositDataJson {
  const message = {pubkey, withdrawalCredentials, amount: amountGwei};
  return {
    pubkey: strip(pubkey),
    withdrawal_credentials: strip(withdrawalCredentials),
    amount: amountGwei,
    signature: strip(signature),
    deposit_message_root: strip(ssz.phase0.DepositMessage.hashTreeRoot(message)),
    deposit_data_root: strip(ssz.phase0.DepositData.hashTreeRoot({...message, signature})),
    fork_version: strip(genesisForkVersion(network)),
    network_name: network,
    deposit_cli_version: DEPOSIT_CLI_VERSION,
  };
}

/** Every reason a deposit entry would be rejected by the deposit contract's consumers or the launchpad; empty when valid. */
export function checkDepositData(entry: DepositDataJson, network: NetworkName): string[] {
  const problems: string[] = [];
  let pubkey: Uint8Array, creds: Uint8Array, signature: Uint8Array;
  try {
    pubkey = fromHex("0x" + entry.pubkey, 48);
    creds = fromHex("0x" + entry.withdrawal_credentials, 32);
    signature = fromHex("0x" + entry.signature, 96);
  } catch (e) {
    return [`malformed field: ${(e as Error).message}`];
  }
  if (entry.network_name !== network) problems.push(`network_name is ${entry.network_name}, expected ${network}`);
  if (entry.fork_version !== strip(genesisForkVersion(network)))
    problems.push(`fork_version ${entry.fork_version} is not ${network}'s`);
  const message = {pubkey, withdrawalCredentials: creds, amount: entry.amount};
  if (entry.deposit_message_root !== strip(ssz.phase0.DepositMessage.hashTreeRoot(message)))
    problems.push("deposit_message_root is wrong");
  if (
    !bytesEqual(fromHex("0x" + entry.deposit_data_root), ssz.phase0.DepositData.hashTreeRoot({...message, signature}))
  ) {
    problems.push("deposit_data_root is wrong");
  }
  if (!verifySignature(pubkey, depositSigningRoot(network, pubkey, creds, entry.amount), signature)) {
    problems.push(`signature does not verify under ${network}'s deposit domain`);
  }
  return problems;
}
