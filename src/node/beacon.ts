import {z} from "zod";
import type {NetworkName} from "../cluster/network.js";
import {getJson} from "../roles/validator/beacon/beaconHttp.js";
import type {BeaconEndpointStatus} from "../roles/validator/beacon/beaconEndpoint.js";
import type {BeaconSet} from "../roles/validator/beacon/beaconSet.js";
import {genesisResponse} from "../roles/validator/beacon/specSchema.js";
import {SlotClock} from "../roles/validator/schedule/slotClock.js";
import {BeaconError} from "../roles/validator/beacon/errors.js";
import {errorMessage} from "../util/errors.js";

/**
 * Only the timing keys: the node runtime needs the slot clock before (and without) the validator's full config.
 * SlotClock.fromSpec says what it needs of them (a slot length one way or the other, the due times if given).
 */
const slotSpecResponse = z.object({
  data: z
    .object({
      SECONDS_PER_SLOT: z.string().optional(),
      SLOT_DURATION_MS: z.string().optional(),
    })
    .passthrough(),
});

/**
 * The node runtime's view of its beacon nodes: readiness and the slot clock, through the same `BeaconSet`
 * the validator duties use, so /readyz, `r3dv status` and the duties agree on which node is healthy.
 */
export class Beacon {
  constructor(
    readonly set: BeaconSet,
    readonly network: NetworkName,
  ) {}

  get urls(): string[] {
    return this.set.labels;
  }

  /** True when at least one beacon node answers `/eth/v1/node/syncing` with is_syncing false. */
  async isSynced(): Promise<boolean> {
    await this.set.probe();
    return this.set.anySynced();
  }

  status(): BeaconEndpointStatus[] {
    return this.set.status();
  }

  /** Genesis time and slot timing from a beacon node: never hard-coded (DESIGN.md "Timing facts"). */
  async slotClock(): Promise<SlotClock> {
    try {
      const [genesis, spec] = await this.set.read(
        "genesis and spec",
        (e) =>
          Promise.all([
            getJson(e, "/eth/v1/beacon/genesis", genesisResponse),
            getJson(e, "/eth/v1/config/spec", slotSpecResponse),
          ]),
        {bench: false},
      );
      return SlotClock.fromSpec(genesis.data.genesis_time, spec.data);
    } catch (e) {
      throw new BeaconError(
        {code: "BEACON_UNREACHABLE", urls: this.urls, reason: errorMessage(e)},
        `no beacon node answered genesis and spec (${this.urls.join(", ")}): ${errorMessage(e)}`,
      );
    }
  }
}
