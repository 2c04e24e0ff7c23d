import {
  type BeaconConfig,
  chainConfigFromJson,
  chainConfigToJson,
  createBeaconConfig,
  createChainForkConfig,
} from "@lodestar/config";
import {mainnetChainConfig, minimalChainConfig} from "@lodestar/config/configs";
import {ACTIVE_PRESET} from "@lodestar/params";
import {fromHex, toHex} from "../../hotpath/bytes.js";
import {EvmError} from "./errors.js";

/** The chain as the beacon node described it: enough to rebuild the same BeaconConfig in a worker thread. */
export interface ChainDescription {
  /** `chainConfigToJson(config)`: the spec values as JSON, which a thread's message can carry. */
  chainConfig: Record<string, unknown>;
  genesisValidatorsRoot: string;
  /** The preset the main thread runs; a worker on another one would decode every SSZ object wrongly. */
  preset: string;
}

/** What a worker thread needs to rebuild `config`. */
export function describeChain(config: BeaconConfig): ChainDescription {
  return {
    chainConfig: chainConfigToJson(config),
    genesisValidatorsRoot: toHex(config.genesisValidatorsRoot),
    preset: ACTIVE_PRESET,
  };
}

export function configFromDescription(d: ChainDescription): BeaconConfig {
  if (d.preset !== ACTIVE_PRESET)
    throw new EvmError(
      {code: "EVM_PRESET_MISMATCH", expected: d.preset, actual: ACTIVE_PRESET},
      `the state transition thread runs the ${ACTIVE_PRESET} preset, the chain needs ${d.preset}`,
    );
  const base = d.preset === "minimal" ? minimalChainConfig : mainnetChainConfig;
  const chainConfig = createChainForkConfig({...base, ...chainConfigFromJson(d.chainConfig)});
  return createBeaconConfig(chainConfig, fromHex(d.genesisValidatorsRoot));
}
