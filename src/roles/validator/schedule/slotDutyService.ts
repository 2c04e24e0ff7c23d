import type {BeaconNode} from "../beacon/beaconNode.js";
import type {InstanceFactory, QbftDriver} from "../consensus/driver.js";
import type {DecidedValues} from "../consensus/decidedValues.js";
import type {SignatureExchange} from "../exchange/signatureExchange.js";
import type {Logger} from "../../../util/logger.js";
import {instanceId} from "../consensus/instanceId.js";
import {type DutyOutcome, consensusFailure} from "../tracking/outcome.js";
import {qbftLeader} from "../consensus/quorum.js";
import type {ValueRefusal} from "../consensus/types.js";
import {DUTY_TYPES, type DutyType} from "../dutyTypes.js";
import {DutyTimers, instanceSlot} from "./dutyClock.js";
import type {PublicShare} from "../signing/shareKeys.js";
import type {SigningTerm} from "../signing/signingTerm.js";
import {roundDeadlines} from "./roundTiming.js";
import type {SlotClock} from "./slotClock.js";
import {HEAD_VERIFY_SLOT_FRACTION, type HeadGuard} from "../verifiedChain/headGuard.js";

/** A decided value and the round it was decided in, or why there is none. */
export type Decision = {value: Uint8Array; round: number; failure?: undefined} | {failure: DutyOutcome};

/** What every duty service is built with: the pipeline's shared steps and its validators' public shares. */
export interface DutyServiceOptions {
  beacon: BeaconNode;
  driver: QbftDriver;
  /** The partial signature exchange every duty shares: its limits hold for every duty type. */
  exchange: SignatureExchange;
  /** Where a slot's decisions wait for the duties that build on them. */
  decided: DecidedValues;
  shares: PublicShare[];
  /**
   * `--verify enforce`: the heads this node verified, which every duty naming a head (attestations, sync
   * messages, proposals) signs for only. Absent, duties sign for the beacon nodes' heads as given.
   */
  headGuard?: HeadGuard;
  /** Operators in the cluster. */
  n: number;
  /** The slots this lock signs in (signing/signingTerm.ts); absent, every slot. */
  term?: Pick<SigningTerm, "covers">;
  logger: Logger;
}

/**
 * What every duty service shares: its validators' shares, its timers, a per-slot loop from now on, and the
 * parameters of its one QBFT instance per slot ("<duty>/<slot>": leader and due time from its row of DUTY_TYPES,
 * rounds timed from the due time unless the duty says otherwise). A duty type supplies what happens at each
 * slot's start and how it judges a proposed value.
 */
export abstract class SlotDutyService {
  protected readonly sharesByPubkey: Map<string, PublicShare>;
  protected readonly timers = new DutyTimers();

  constructor(
    private readonly duty: DutyType,
    private readonly base: DutyServiceOptions,
  ) {
    this.sharesByPubkey = new Map(base.shares.map((s) => [s.pubkey, s]));
  }

  instanceConfig(instance: string): ReturnType<InstanceFactory> {
    const slot = instanceSlot(this.duty, instance, this.clock.currentSlot());
    if (slot === undefined) return undefined;
    return {
      slot,
      leader: (round) => qbftLeader(slot, DUTY_TYPES[this.duty].leaderIndex, round, this.base.n),
      // Read when a round is armed, not now: a duty's rounds may start from a time not known yet (roundsFromMs).
      roundDeadline: (round) => roundDeadlines(this.roundsFromMs(slot), this.clock.slotMs)(round),
      isValid: (value, from, round) => this.isValidValue(slot, value, from, round),
    };
  }

  start(): void {
    this.onSlot(this.clock.currentSlot());
  }

  stop(): void {
    this.timers.stop();
  }

  /** Every slot from now on: arm the next slot, then this one's duty. */
  private onSlot(slot: number): void {
    this.timers.at(this.clock.slotStartMs(slot + 1), () => this.onSlot(slot + 1));
    // Another lock's slot (before a reshared lock's switch, after a retirement): nothing to do, nothing failed.
    if (this.base.term && !this.base.term.covers(slot)) return;
    this.slot(slot);
  }

  protected get clock(): SlotClock {
    return this.base.beacon.clock;
  }

  /** Until when a duty started at `fromMs` waits for its head to be verified (`--verify enforce`). */
  protected headVerifiedBy(fromMs: number): number {
    return fromMs + this.clock.slotMs * HEAD_VERIFY_SLOT_FRACTION;
  }

  /** When round 1's clock starts: the due time, unless the duty may start later than that. */
  protected roundsFromMs(slot: number): number {
    return this.dueMs(slot);
  }

  /** When the duty's result is due in `slot` (its DUTY_TYPES row). */
  protected dueMs(slot: number): number {
    return this.clock.dueMs(DUTY_TYPES[this.duty].due, slot);
  }

  /**
   * The cluster's decision on this duty's value at `slot` (its QBFT instance), or, when none came by `deadline`,
   * the outcome that ends the duties waiting on it: no_quorum naming the silent nodes, or consensus_timeout.
   */
  protected async decide(slot: number, value: Uint8Array, deadline: Promise<never>): Promise<Decision> {
    const instance = instanceId(this.duty, slot);
    try {
      return await Promise.race([this.base.driver.run(instance, value), deadline]);
    } catch (e) {
      return {failure: consensusFailure(this.base.driver, instance, this.base.n, e)};
    }
  }

  /** At the start of `slot`: arm whatever the duty does in it. */
  protected abstract slot(slot: number): void;
  protected abstract isValidValue(slot: number, value: Uint8Array, from: number, round: number): boolean | ValueRefusal;
}
