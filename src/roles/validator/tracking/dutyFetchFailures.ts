import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {errorMessage} from "../../../util/errors.js";
import type {DutyOutcome} from "./outcome.js";

/** A validator index no validator has: an epoch-wide result that stands for duties of validators unknown. */
export const UNKNOWN_VALIDATOR = -1;

interface Blind {
  /** Slots that came due while the epoch's duties were unknown, in order. */
  slots: number[];
  /** The last fetch's error. */
  error: string;
}

export interface UnfetchedEpoch {
  epoch: number;
  window: {from: number; to: number};
  outcome: DutyOutcome;
}

/**
 * The slots a duty service ran blind: their epoch's duties could not be fetched by their due time, so no duty
 * of theirs ran. Each must still end in one `duty_fetch_failed` result. When a later fetch of the epoch
 * succeeds, the duties that fell in those slots are known exactly (`takeFetched`); when the epoch ends
 * without one, the service decides what one result per duty means without knowing them (`takeUnfetched`).
 */
export class BlindSlots {
  private readonly epochs = new Map<number, Blind>();
  private readonly errors = new Map<number, string>();
  /** Epochs before this one were reported epoch-wide: a slot of theirs marked late is covered already. */
  private closedBefore = 0;

  constructor(private readonly duty: string) {}

  /** A fetch of the epoch's duties failed. */
  fetchFailed(epoch: number, e: unknown): void {
    this.errors.set(epoch, errorMessage(e));
    const b = this.epochs.get(epoch);
    if (b) b.error = errorMessage(e);
  }

  /** A slot came due without its epoch's duties. */
  mark(slot: number): void {
    const epoch = Math.floor(slot / SLOTS_PER_EPOCH);
    if (epoch < this.closedBefore) return;
    const b = this.epochs.get(epoch) ?? {slots: [], error: this.errors.get(epoch) ?? "no answer yet"};
    if (!b.slots.includes(slot)) b.slots.push(slot);
    this.epochs.set(epoch, b);
  }

  /**
   * The epoch's duties were fetched at last: the slots that ran blind before, and the outcome for the duties
   * in them. Forgotten, so nothing is reported twice.
   */
  takeFetched(epoch: number): {slots: Set<number>; outcome: DutyOutcome} | undefined {
    this.errors.delete(epoch);
    const b = this.epochs.get(epoch);
    this.epochs.delete(epoch);
    if (!b) return undefined;
    const detail = `${this.duty} duties of epoch ${epoch} were not fetched by this duty's due time: ${b.error}`;
    return {slots: new Set(b.slots), outcome: {status: "failed", reason: "duty_fetch_failed", detail}};
  }

  /** Epochs before `beforeEpoch` that ran blind and were never fetched: forgotten, with their epoch-wide outcome. */
  takeUnfetched(beforeEpoch: number): UnfetchedEpoch[] {
    this.closedBefore = Math.max(this.closedBefore, beforeEpoch);
    const out: UnfetchedEpoch[] = [];
    for (const [epoch, b] of this.epochs) {
      if (epoch >= beforeEpoch) continue;
      this.epochs.delete(epoch);
      const window = {from: b.slots[0] as number, to: b.slots[b.slots.length - 1] as number};
      const detail = `${this.duty} duties of epoch ${epoch} were never fetched (slots ${window.from}-${window.to} ran without them), so the duty's slot is unknown: ${b.error}`;
      out.push({epoch, window, outcome: {status: "failed", reason: "duty_fetch_failed", detail, window}});
    }
    for (const epoch of this.errors.keys()) if (epoch < beforeEpoch) this.errors.delete(epoch);
    return out;
  }
}
