import {type ApiClient, getClient} from "@lodestar/api";
import {createChainForkConfig} from "@lodestar/config";
import {mainnetChainConfig, minimalChainConfig} from "@lodestar/config/configs";
import {ACTIVE_PRESET, PresetName} from "@lodestar/params";
import type {NetworkName} from "../cluster/network.js";
import {R3dvError, errorMessage} from "../util/errors.js";

/**
 * 2 s per Beacon API call: Charon treats beacon latency above 1 s as unhealthy, so an answer slower than
 * twice that is worth less than trying the next URL.
 */
export const BEACON_TIMEOUT_MS = 2000;

export interface SlotClock {
  genesisTime: number;
  secondsPerSlot: number;
  slotsPerEpoch: number;
}

export type BeaconErrorType = {code: "BEACON_UNAVAILABLE"; urls: string[]; reason: string};
export class BeaconError extends R3dvError<BeaconErrorType> {}


/** The node's view of its beacon node(s), through Lodestar's typed client (first good answer wins, fallbacks). */
export class Beacon {
  private readonly api: ApiClient;

  constructor(
    readonly urls: string[],
    readonly network: NetworkName,
  ) {
    // Lodestar's preset is process-wide (main.ts picks minimal for a devnet lock) and a config can only be built
    // for the active one. The client's config only picks fork-specific SSZ types; the endpoints read here
    // (syncing, genesis, spec) have none. Timing comes from the beacon node's spec, never from this config.
    const base = ACTIVE_PRESET === PresetName.minimal ? minimalChainConfig : mainnetChainConfig;
    this.api = getClient({urls, globalInit: {timeoutMs: BEACON_TIMEOUT_MS}}, {config: createChainForkConfig(base)});
  }

  /** True when a beacon node answers `/eth/v1/node/syncing` with is_syncing false. */
  async isSynced(): Promise<boolean> {
    try {
      const s = (await this.api.node.getSyncingStatus()).value();
      return !s.isSyncing;
    } catch {
      return false;
    }
  }

  /** Genesis time and slot timing from the beacon node: never hard-coded (DESIGN.md "Timing facts"). */
  async slotClock(): Promise<SlotClock> {
    try {
      const genesis = (await this.api.beacon.getGenesis()).value();
      const spec = (await this.api.config.getSpec()).value() as Record<string, string>;
      const secondsPerSlot = Number(spec.SECONDS_PER_SLOT ?? Number(spec.SLOT_DURATION_MS) / 1000);
      const slotsPerEpoch = Number(spec.SLOTS_PER_EPOCH);
      if (!(secondsPerSlot > 0) || !(slotsPerEpoch > 0)) throw new Error(`spec has SECONDS_PER_SLOT=${spec.SECONDS_PER_SLOT} SLOTS_PER_EPOCH=${spec.SLOTS_PER_EPOCH}`);
      return {genesisTime: Number(genesis.genesisTime), secondsPerSlot, slotsPerEpoch};
    } catch (e) {
      throw new BeaconError({code: "BEACON_UNAVAILABLE", urls: this.urls, reason: errorMessage(e)}, `no beacon node answered genesis and spec (${this.urls.join(", ")}): ${errorMessage(e)}`);
    }
  }
}

export function currentSlot(c: SlotClock, nowMs = Date.now()): number {
  return Math.max(0, Math.floor((nowMs / 1000 - c.genesisTime) / c.secondsPerSlot));
}
