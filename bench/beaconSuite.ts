import {z} from "zod";
import {getJson} from "../src/roles/validator/beacon/beaconHttp.js";
import {BeaconSet} from "../src/roles/validator/beacon/beaconSet.js";
import {StubBeacon} from "../test/helpers/stubBeacon.js";
import type {Suite} from "./harness.js";

const versionResponse = z.object({data: z.object({version: z.string()})});
const read = (set: BeaconSet) =>
  set.read("/eth/v1/node/version", (e) => getJson(e, "/eth/v1/node/version", versionResponse));

/**
 * What a dead first beacon node costs a read (local HTTP, so the numbers are the client's overhead, not a
 * network's): the baseline with one node; the read that finds the first node dead (its port refuses: a
 * crashed process) and falls over within itself; and the reads after, which skip the benched node. A node
 * that hangs instead costs the first read the full timeout (BEACON_TIMEOUT_MS), not measured here.
 */
export const beaconSuite: Suite = {
  name: "beacon",
  async setup() {
    const live = await new StubBeacon().start();
    const dead = await new StubBeacon().start();
    await dead.stop();
    const one = new BeaconSet([live.url]);
    const benched = new BeaconSet([dead.url, live.url]);
    await read(benched);
    return {
      tasks: [
        {name: "read, one beacon node", fn: () => read(one).then(() => undefined)},
        {
          name: "read, first node just died (failover in the read)",
          fn: () => read(new BeaconSet([dead.url, live.url])).then(() => undefined),
        },
        {name: "read, first node dead and benched", fn: () => read(benched).then(() => undefined)},
      ],
      teardown: () => live.stop(),
    };
  },
};
