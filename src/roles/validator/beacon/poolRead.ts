import {BeaconError} from "./errors.js";
import type {DutyTimers} from "../schedule/dutyClock.js";

/**
 * Reads of what the beacon node builds from its pool (an aggregate, a sync contribution) that it refuses
 * (HTTP 4xx: "no attestations / no sync messages for that root yet") are asked again every `everyMs` until
 * `untilMs`. The pool holds a slot's messages only once they are submitted, and under load this cluster's own
 * submissions can land just after the 2/3-slot due time: failing at once would lose an aggregate that exists
 * a moment later. Unreachable or broken nodes are not retried here (the beacon set already tried every node).
 */
export async function readFromPool<T>(read: () => Promise<T>, o: PoolReadOptions): Promise<T> {
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

export interface PoolReadOptions {
  everyMs: number;
  untilMs: number;
  timers: DutyTimers;
}

/**
 * The retry window of a slot's pool reads. Until 5/6 of the slot, which leaves the last sixth (333 ms on a 2 s
 * devnet slot, 2 s on mainnet) to agree on the aggregates, sign them and publish before the slot ends; every
 * 1/24 of a slot (83 ms on the devnet, 500 ms on mainnet), a handful of tries in all.
 */
export function poolReadOptions(slotStartMs: number, slotMs: number, timers: DutyTimers): PoolReadOptions {
  return {everyMs: Math.max(1, Math.floor(slotMs / 24)), untilMs: slotStartMs + Math.floor((5 * slotMs) / 6), timers};
}
