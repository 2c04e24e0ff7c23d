import {BeaconError} from "./errors.js";

/**
 * Lodestar 1.5.1 answers a pool read that has nothing to aggregate yet with HTTP 500 (`No attestation for
 * slot=…`, `No contribution available`) where the Beacon API answers 404. Taken as a failing node, such an
 * answer benched the node and failed the duty at once; it says only that this cluster's own messages have not
 * reached the pool yet, which a moment later they have. Recognised by the message Lodestar sends, so any
 * other 500 still counts against the node.
 */
const EMPTY_POOL_500 = /"message"\s*:\s*"No (attestation for slot|contribution available)/;

/** Rethrows Lodestar's empty-pool 500 as the refusal it means (not benched, asked again); anything else as it was. */
export function emptyPoolAsRefusal(e: unknown): never {
  if (
    e instanceof BeaconError &&
    e.type.code === "BEACON_BAD_RESPONSE" &&
    e.type.status === 500 &&
    EMPTY_POOL_500.test(e.type.reason)
  ) {
    const {url, route, reason} = e.type;
    throw new BeaconError(
      {code: "BEACON_REFUSED", url, route, status: 500, reason},
      `beacon node ${url} has nothing in its pool for ${route} yet (HTTP 500, as Lodestar 1.5.1 says it): ${reason}`,
    );
  }
  throw e;
}
