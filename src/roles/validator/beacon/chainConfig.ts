import {type BeaconConfig, chainConfigFromJson, createBeaconConfig, createChainForkConfig} from "@lodestar/config";
import {mainnetChainConfig, minimalChainConfig} from "@lodestar/config/configs";
import {ACTIVE_PRESET, ForkSeq} from "@lodestar/params";
import type {Slot} from "@lodestar/types";
import {fromHex} from "../../../hotpath/bytes.js";
import {SlotClock} from "../schedule/slotClock.js";
import {getJson} from "./beaconHttp.js";
import type {BeaconSet} from "./beaconSet.js";
import {BeaconError} from "./errors.js";
import {genesisResponse, specResponse} from "./specSchema.js";

/**
 * The chain as the first beacon node that answers describes it: fork schedule and domains (the config every
 * signing root is computed with) and the slot clock, from its genesis and spec, never assumed. A node on another
 * preset than this process was started with is refused: its slots, epochs and SSZ shapes would not match ours.
 */
export async function readChain(set: BeaconSet): Promise<{config: BeaconConfig; clock: SlotClock}> {
  const {genesis, spec} = await set.read(
    "genesis and spec",
    async (e) => {
      const [genesis, spec] = await Promise.all([
        getJson(e, "/eth/v1/beacon/genesis", genesisResponse),
        getJson(e, "/eth/v1/config/spec", specResponse),
      ]);
      const preset = spec.data.PRESET_BASE;
      if (preset !== ACTIVE_PRESET) {
        throw new BeaconError(
          {code: "BEACON_PRESET_MISMATCH", url: e.label, nodePreset: preset, localPreset: ACTIVE_PRESET},
          `beacon node ${e.label} runs the ${preset} preset but r3dv was started with ${ACTIVE_PRESET}; a devnet lock selects minimal, every other network mainnet`,
        );
      }
      return {genesis, spec};
      // The spec check is this client's: a node it refuses (wrong preset, a spec it cannot read) may still be
      // well for readiness, so connecting leaves health to the probe and the duties' own requests.
    },
    {bench: false},
  );
  const base = spec.data.PRESET_BASE === "minimal" ? minimalChainConfig : mainnetChainConfig;
  const chainConfig = createChainForkConfig({...base, ...chainConfigFromJson(spec.data as Record<string, unknown>)});
  return {
    config: createBeaconConfig(chainConfig, fromHex(genesis.data.genesis_validators_root)),
    clock: SlotClock.fromSpec(genesis.data.genesis_time, spec.data as Record<string, unknown>),
  };
}

/** Whether `slot` is in Electra or a later fork: where the Beacon API's block, attestation and aggregate routes change. */
export function isElectraAt(config: BeaconConfig, slot: Slot): boolean {
  return config.getForkSeq(slot) >= ForkSeq.electra;
}
