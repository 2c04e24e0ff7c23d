import type {BeaconNode} from "../beacon/beaconNode.js";
import type {InstanceFactory} from "../consensus/driver.js";
import {qbftLeader} from "../consensus/quorum.js";
import {DutyTimers, instanceSlot} from "./dutyClock.js";
import type {PublicShare} from "../signing/shareKeys.js";
import {roundDeadlines} from "./roundTiming.js";

/**
 * What a per-slot duty service with one QBFT instance per slot ("<duty>/<slot>") shares: its validators'
 * shares, its timers, a per-slot loop from now on, and its instances' parameters (leader
 * (slot + dutyIndex + round) mod n, rounds timed from the duty's due time).
 */
export abstract class SlotDutyService {
  protected readonly sharesByPubkey: Map<string, PublicShare>;
  protected readonly timers = new DutyTimers();

  constructor(
    private readonly base: {duty: string; dutyIndex: number; n: number; beacon: BeaconNode; shares: PublicShare[]},
  ) {
    this.sharesByPubkey = new Map(base.shares.map((s) => [s.pubkey, s]));
  }

  instanceConfig(instance: string): ReturnType<InstanceFactory> {
    const slot = instanceSlot(this.base.duty, instance, this.base.beacon.currentSlot());
    if (slot === undefined) return undefined;
    return {
      slot,
      leader: (round) => qbftLeader(slot, this.base.dutyIndex, round, this.base.n),
      roundDeadline: roundDeadlines(this.roundsFromMs(slot), this.base.beacon.slotMs),
      isValid: (value) => this.isValidValue(slot, value),
    };
  }

  start(): void {
    this.onSlot(this.base.beacon.currentSlot());
  }

  stop(): void {
    this.timers.stop();
  }

  /** Every slot from now on: arm the next slot, then this one's duty. */
  private onSlot(slot: number): void {
    this.timers.at(this.base.beacon.slotStartMs(slot + 1), () => this.onSlot(slot + 1));
    this.slot(slot);
  }

  /** When round 1's clock starts: the due time, unless the duty may start later than that. */
  protected roundsFromMs(slot: number): number {
    return this.dueMs(slot);
  }

  protected abstract slot(slot: number): void;
  protected abstract dueMs(slot: number): number;
  protected abstract isValidValue(slot: number, value: Uint8Array): boolean;
}
