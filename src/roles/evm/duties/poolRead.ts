import {BeaconError} from "../beacon/errors.js";
import type {DutyTimers} from "./dutyClock.js";

/**
 * Reads of what the beacon node builds from its pool (an aggregate, a sync contribution) that it refuses
 * (HTTP 4xx: "no attestations / no sync messages for that root yet") are asked again every `everyMs` until
 * `untilMs`. The pool holds a slot's messages only once they are submitted, and under load this cluster's own
 * submissions can land just after the 2/3-slot due time: failing at once would lose an aggregate that exists
 * a moment later. Unreachable or broken nodes are not retried here (the beacon set already tried every node).
 */
export async function readFromPool<T>(read: () => Promise<T>, o: {everyMs: number; untilMs: number; timers: DutyTimers}): Promise<T> {
  for (;;) {
    try {
      return await read();
    } catch (e) {
      const refused = e instanceof BeaconError && e.code === "BEACON_REFUSED";
      if (!refused || Date.now() + o.everyMs > o.untilMs || o.timers.isStopped) throw e;
    }
    // A stopped service never resumes here: the timer is cancelled.
    await new Promise<void>((r) => o.timers.at(Date.now() + o.everyMs, r));
  }
}

/**
 * Until when a pool read may be retried: 5/6 of the slot, which leaves the last sixth (333 ms on a 2 s devnet
 * slot, 2 s on mainnet) to agree on the aggregates, sign them and publish before the slot ends.
 */
export function poolReadUntilMs(slotStartMs: number, slotMs: number): number {
  return slotStartMs + Math.floor((5 * slotMs) / 6);
}

/** How often to ask again: 1/24 of a slot (83 ms on the devnet, 500 ms on mainnet), a handful of tries in all. */
export function poolReadEveryMs(slotMs: number): number {
  return Math.max(1, Math.floor(slotMs / 24));
}
