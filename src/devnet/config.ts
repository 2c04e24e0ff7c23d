import {
  createBeaconConfig,
  createChainForkConfig,
  type BeaconConfig,
  type ChainConfig,
  type ChainForkConfig,
} from "@lodestar/config";
import {minimalChainConfig} from "@lodestar/config/configs";

export type DevnetFork = "electra" | "fulu";

/**
 * Every fork up to `fork` active from genesis, after the merge: the devnet's chain, and the mainnet-sized state
 * its EVM bench builds (bench/mainnetState.ts) on mainnet's config.
 */
export function forksFromGenesis(fork: DevnetFork) {
  return {
    ALTAIR_FORK_EPOCH: 0,
    BELLATRIX_FORK_EPOCH: 0,
    CAPELLA_FORK_EPOCH: 0,
    DENEB_FORK_EPOCH: 0,
    ELECTRA_FORK_EPOCH: 0,
    FULU_FORK_EPOCH: fork === "fulu" ? 0 : Infinity,
    // 0: the merge happened before genesis, the genesis state carries an execution payload header.
    TERMINAL_TOTAL_DIFFICULTY: 0n,
  };
}

/**
 * The devnet's chain config: minimal preset, every fork up to `fork` active from epoch 0, the slot length the
 * user asked for. Fork versions are the minimal network's, so a signature made for another network's domain fails.
 */
export function devnetChainConfig(fork: DevnetFork, slotMs: number): ChainConfig {
  return {
    ...minimalChainConfig,
    // 1: every genesis validator is active; the devnet decides its own validator count.
    MIN_GENESIS_ACTIVE_VALIDATOR_COUNT: 1,
    MIN_GENESIS_TIME: 0,
    GENESIS_DELAY: 0,
    ...forksFromGenesis(fork),
    SECONDS_PER_SLOT: slotMs / 1000,
    SLOT_DURATION_MS: slotMs,
    // 0: a validator may exit from genesis on (mainnet: 256 epochs, about 27 hours), so exits can be tried on the
    // devnet in minutes (`r3dv exit`).
    SHARD_COMMITTEE_PERIOD: 0,
    // 1337: the conventional private-devnet chain id, also the execution layer's chain id.
    DEPOSIT_CHAIN_ID: 1337,
    DEPOSIT_NETWORK_ID: 1337,
  };
}

export function devnetForkConfig(fork: DevnetFork, slotMs: number): ChainForkConfig {
  return createChainForkConfig(devnetChainConfig(fork, slotMs));
}

export function devnetBeaconConfig(fork: DevnetFork, slotMs: number, genesisValidatorsRoot: Uint8Array): BeaconConfig {
  return createBeaconConfig(devnetChainConfig(fork, slotMs), genesisValidatorsRoot);
}
