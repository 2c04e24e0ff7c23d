import {createHash} from "node:crypto";
import {Tree, toGindex} from "@chainsafe/persistent-merkle-tree";
import type {ChainForkConfig} from "@lodestar/config";
import {DOMAIN_DEPOSIT, ETH1_ADDRESS_WITHDRAWAL_PREFIX, MAX_EFFECTIVE_BALANCE} from "@lodestar/params";
import {
  ZERO_HASH,
  computeDomain,
  computeSigningRoot,
  createEmptyEpochCacheImmutableData,
  initializeBeaconStateFromEth1,
  type BeaconStateAllForks,
} from "@lodestar/state-transition";
import {ssz, type phase0} from "@lodestar/types";
import type {SecretKeyCache} from "./keys.js";
import type {ExecutionGenesis} from "./execution/types.js";

/**
 * Interop genesis as `lodestar dev` builds it (`initDevState`): one deposit per interop key, processed by the
 * real `initializeBeaconStateFromEth1`, so the genesis state is what any client computes from the same deposits.
 * Withdrawal credentials are 0x01 (an execution address), so rewards above 32 ETH are swept as real withdrawals.
 */
export function buildGenesisState(
  config: ChainForkConfig,
  keys: SecretKeyCache,
  validatorCount: number,
  el: ExecutionGenesis,
  genesisTime: number,
  /** Deposits after the interop validators' (extraDeposits.ts), with their own signatures. */
  extra: phase0.DepositData[] = [],
): BeaconStateAllForks {
  const depositTree = ssz.phase0.DepositDataRootList.defaultViewDU();
  const depth = depositTree.type.depth;
  const domain = computeDomain(DOMAIN_DEPOSIT, config.GENESIS_FORK_VERSION, ZERO_HASH);
  const deposits: phase0.Deposit[] = [];
  const push = (data: phase0.DepositData) => {
    depositTree.push(ssz.phase0.DepositData.hashTreeRoot(data));
    depositTree.commit();
    const proof = new Tree(depositTree.node).getSingleProof(toGindex(depth, BigInt(deposits.length)));
    deposits.push({proof, data});
  };
  for (let i = 0; i < validatorCount; i++) {
    const pubkey = keys.pubkey(i);
    const withdrawalCredentials = new Uint8Array(createHash("sha256").update(pubkey).digest());
    withdrawalCredentials[0] = ETH1_ADDRESS_WITHDRAWAL_PREFIX;
    withdrawalCredentials.fill(0, 1, 12);
    const data: phase0.DepositData = {
      pubkey,
      withdrawalCredentials,
      amount: MAX_EFFECTIVE_BALANCE,
      signature: new Uint8Array(96),
    };
    data.signature = keys.sign(i, computeSigningRoot(ssz.phase0.DepositMessage, data, domain));
    push(data);
  }
  for (const data of extra) push(data);
  // Electra and Fulu share the Deneb-shaped execution payload header.
  const header = ssz.electra.ExecutionPayloadHeader.defaultViewDU();
  header.parentHash = el.parentHash;
  header.blockHash = el.blockHash;
  header.stateRoot = el.stateRoot;
  header.receiptsRoot = el.receiptsRoot;
  header.timestamp = el.timestamp;
  header.prevRandao = el.prevRandao;
  header.gasLimit = el.gasLimit;
  header.baseFeePerGas = el.baseFeePerGas;
  header.blockNumber = 0;
  const state = initializeBeaconStateFromEth1(
    config,
    createEmptyEpochCacheImmutableData(config, {genesisValidatorsRoot: ZERO_HASH}),
    el.blockHash,
    el.timestamp,
    deposits,
    depositTree,
    header,
  );
  state.genesisTime = genesisTime;
  return state;
}
