import {minimalChainConfig} from "@lodestar/config/configs";
import {hoodiChainConfig, mainnetChainConfig, sepoliaChainConfig} from "@lodestar/config/networks";
import {toHex} from "../hotpath/bytes.js";

/**
 * The networks a cluster can be created for. The genesis fork version fixes the deposit domain
 * (deposits are signed with the genesis fork and a zero validators root, so they stay valid across forks).
 * `devnet` is the minimal-preset chain that `r3dv devnet-beacon` and `lodestar dev` run.
 */
export const NETWORK_NAMES = ["mainnet", "hoodi", "sepolia", "devnet"] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

const GENESIS_FORK_VERSIONS: Record<NetworkName, Uint8Array> = {
  mainnet: mainnetChainConfig.GENESIS_FORK_VERSION,
  hoodi: hoodiChainConfig.GENESIS_FORK_VERSION,
  sepolia: sepoliaChainConfig.GENESIS_FORK_VERSION,
  devnet: minimalChainConfig.GENESIS_FORK_VERSION,
};

export function isNetworkName(name: string): name is NetworkName {
  return (NETWORK_NAMES as readonly string[]).includes(name);
}

export function genesisForkVersion(network: NetworkName): Uint8Array {
  return GENESIS_FORK_VERSIONS[network];
}

export function genesisForkVersionHex(network: NetworkName): string {
  return toHex(GENESIS_FORK_VERSIONS[network]);
}
