import {attesterPartials, corruptingPartials, heldOut} from "../memoryTransport.js";
import type {DutyClusterOptions} from "./dutyCluster.js";
import type {WatchedPool} from "./watchedPool.js";

/**
 * Node options for the invalid-partial cases: node 3 sends corrupted attestation partials (corruptingPartials), and
 * node 4's attestation partials wait until `release` holds of the recoveries the nodes' shared pool has run, so a
 * test decides whether node 4's honest partial comes before, during or after the recoveries that meet node 3's.
 */
export function badPartialsFromNode3(release: (pool: WatchedPool) => boolean): DutyClusterOptions["node"] {
  return (i, c) => {
    if (i === 3) return {transport: corruptingPartials(c.hub.transport(i))};
    if (i === 4) return {transport: heldOut(c.hub.transport(i), attesterPartials, c.pool.when(release))};
    return {};
  };
}
