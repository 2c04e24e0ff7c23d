import {SLOTS_PER_EPOCH} from "@lodestar/params";
import type {Logger} from "../../../util/logger.js";
import type {DutyType} from "../dutyTypes.js";
import {BlindSlots, type UnfetchedEpoch} from "../tracking/dutyFetchFailures.js";
import type {DutyOutcome} from "../tracking/outcome.js";

/** One epoch's duties as the beacon node gives them, with the root they were computed from (a reorg changes it). */
export interface EpochDutiesAnswer<D> {
  dependentRoot: string;
  duties: D[];
}

export interface EpochDutiesOptions<D extends {slot: number}> {
  duty: DutyType;
  /** Asks the beacon node for one epoch's duties of this node's validators. */
  fetch(epoch: number): Promise<EpochDutiesAnswer<D>>;
  logger: Logger;
  /** A duty whose slot came due before its epoch's duties were fetched: it ended with `outcome`. */
  onFetchedLate(duty: D, outcome: DutyOutcome): void;
}

/**
 * Which duties fall in which slot, per epoch (the scheduler's half that asks the beacon node; the attester and
 * proposer duties share it). An epoch is fetched once, and again at its start: the beacon node answers with the
 * duties' dependent root, and a changed root (a reorg moved the shuffling) replaces the epoch's duties. Slots
 * that come due while their epoch is unknown are remembered, so each of their duties still ends in one
 * `duty_fetch_failed` result (BlindSlots).
 */
export class EpochDuties<D extends {slot: number}> {
  private readonly bySlot = new Map<number, D[]>();
  /** Dependent root of each fetched epoch. */
  private readonly fetched = new Map<number, string>();
  /**
   * Epochs known only from a fetch `ahead` of their start: a prediction, not yet the chain's answer. Proposer
   * duties depend on the previous epoch's last block, so a beacon node can only guess them before the epoch starts
   * (Lodestar 1.5.1 answers from its head state, "predicted with high probability"); the guess is replaced by the
   * epoch-start fetch, and the epoch's first slot waits for that fetch rather than act on the guess. Acting on it
   * missed our proposals at the first slot of an epoch on Lodestar with 4 s slots (2 of 3 epochs), with no result.
   */
  private readonly provisional = new Set<number>();
  private readonly blind: BlindSlots;

  constructor(private readonly o: EpochDutiesOptions<D>) {
    this.blind = new BlindSlots(o.duty);
  }

  known(epoch: number): boolean {
    return this.fetched.has(epoch);
  }

  at(slot: number): D[] | undefined {
    return this.bySlot.get(slot);
  }

  /**
   * At a slot's start: its epoch's duties, refreshed at the epoch's start (the reorg check). Resolves when the
   * slot can run: at once when the epoch was known already (the refresh need not delay it), else after the fetch,
   * failed or not (then `known` says whether the slot has duties to run).
   */
  forSlot(slot: number): Promise<void> {
    const epoch = Math.floor(slot / SLOTS_PER_EPOCH);
    const settled = this.known(epoch) && !this.provisional.has(epoch);
    const fetched = this.ensure(epoch, slot % SLOTS_PER_EPOCH === 0);
    return settled ? Promise.resolve() : fetched;
  }

  /**
   * Fetches the epoch's duties unless known (or `refresh`). A fetch `ahead` of its epoch is allowed to fail quietly:
   * a beacon node may not know the next epoch's proposers yet, and the epoch's own fetch at its start is the one
   * whose failure counts.
   */
  async ensure(epoch: number, refresh: boolean, ahead = false): Promise<void> {
    if (this.known(epoch) && !refresh && !(this.provisional.has(epoch) && !ahead)) return;
    try {
      const {dependentRoot, duties} = await this.o.fetch(epoch);
      // A guess that answers after the epoch's own fetch must not replace it.
      if (ahead && this.known(epoch) && !this.provisional.has(epoch)) return;
      const wasGuess = this.provisional.has(epoch);
      if (ahead) this.provisional.add(epoch);
      else this.provisional.delete(epoch);
      // The same root means the same duties, except after a guess: a node may give the guess the root it had.
      if (this.fetched.get(epoch) === dependentRoot && !wasGuess) return;
      for (let s = epoch * SLOTS_PER_EPOCH; s < (epoch + 1) * SLOTS_PER_EPOCH; s++) this.bySlot.delete(s);
      for (const d of duties) this.bySlot.set(d.slot, [...(this.bySlot.get(d.slot) ?? []), d]);
      this.fetched.set(epoch, dependentRoot);
      const late = this.blind.takeFetched(epoch);
      if (late) for (const d of duties) if (late.slots.has(d.slot)) this.o.onFetchedLate(d, late.outcome);
    } catch (e) {
      if (ahead) return this.o.logger.debug("duties of the next epoch not known yet", {duty: this.o.duty, epoch}, e);
      this.blind.fetchFailed(epoch, e);
      this.o.logger.warn(`${this.o.duty} duties not fetched`, {epoch}, e);
    }
  }

  /** A slot came due while its epoch's duties were unknown: whatever duty fell there failed. */
  ranBlind(slot: number): void {
    this.blind.mark(slot);
  }

  /** Epochs before `beforeEpoch` that ran blind and were never fetched (see BlindSlots.takeUnfetched). */
  takeUnfetched(beforeEpoch: number): UnfetchedEpoch[] {
    return this.blind.takeUnfetched(beforeEpoch);
  }

  prune(beforeSlot: number): void {
    for (const s of this.bySlot.keys()) if (s < beforeSlot) this.bySlot.delete(s);
    const epoch = Math.floor(beforeSlot / SLOTS_PER_EPOCH);
    for (const e of this.fetched.keys()) if (e < epoch) this.fetched.delete(e);
    for (const e of this.provisional) if (e < epoch) this.provisional.delete(e);
  }
}
