import type {BeaconNode} from "../beacon/beaconNode.js";
import type {InstanceFactory} from "../consensus/driver.js";
import {qbftLeader} from "../consensus/quorum.js";
import {DUTY_TYPES, type DutyType} from "../dutyTypes.js";
import {DutyTimers, instanceSlot} from "./dutyClock.js";
import type {PublicShare} from "../signing/shareKeys.js";
import {roundDeadlines} from "./roundTiming.js";

/**
 * What a per-slot duty service with one QBFT instance per slot ("<duty>/<slot>") shares: its validators'
 * shares, its timers, a per-slot loop from now on, and its instances' parameters (leader and due time from its
 * row of DUTY_TYPES, rounds timed from the due time).
 */
export abstract class SlotDutyService {
  protected readonly sharesByPubkey: Map<string, PublicShare>;
  protected readonly timers = new DutyTimers();

  constructor(private readonly base: {duty: DutyType; n: number; beacon: BeaconNode; shares: PublicShare[]}) {
    this.sharesByPubkey = new Map(base.shares.map((s) => [s.pubkey, s]));
  }

  instanceConfig(instance: string): ReturnType<InstanceFactory> {
    const slot = instanceSlot(this.base.duty, instance, this.base.beacon.clock.currentSlot());
    if (slot === undefined) return undefined;
    return {
      slot,
      leader: (round) => qbftLeader(slot, DUTY_TYPES[this.base.duty].leaderIndex, round, this.base.n),
      roundDeadline: roundDeadlines(this.roundsFromMs(slot), this.base.beacon.clock.slotMs),
      isValid: (value) => this.isValidValue(slot, value),
    };
  }

  start(): void {
    this.onSlot(this.base.beacon.clock.currentSlot());
  }

  stop(): void {
    this.timers.stop();
  }

  /** Every slot from now on: arm the next slot, then this one's duty. */
  private onSlot(slot: number): void {
    this.timers.at(this.base.beacon.clock.slotStartMs(slot + 1), () => this.onSlot(slot + 1));
    this.slot(slot);
  }

  /** When round 1's clock starts: the due time, unless the duty may start later than that. */
  protected roundsFromMs(slot: number): number {
    return this.dueMs(slot);
  }

  /** When the duty's result is due in `slot` (its DUTY_TYPES row). */
  protected dueMs(slot: number): number {
    return this.base.beacon.clock.dueMs(DUTY_TYPES[this.base.duty].due, slot);
  }

  protected abstract slot(slot: number): void;
  protected abstract isValidValue(slot: number, value: Uint8Array): boolean;
}
