import type {phase0} from "@lodestar/types";
import type {AttesterDuty} from "../beacon/types.js";

/** What a slot's consensus decided, by duty type, for the duties that build on it. */
export interface DecidedByType {
  /** The slot's agreed attestation data per committee, and the attester duties it was agreed for. */
  attester: {byCommittee: Map<number, phase0.AttestationData>; duties: AttesterDuty[]};
  /** The block root the slot's sync committee messages sign. */
  sync_message: Uint8Array;
}
export type DecidedType = keyof DecidedByType;

/**
 * Decided values stay this many slots behind the newest: the aggregation and contribution duties that read
 * them finish within their own slot, and a duty run late by one slot still finds its value.
 */
const KEEP_SLOTS = 2;

interface Entry<T> {
  slot: number;
  value: Promise<T>;
  resolve(value: T): void;
}

/**
 * The store of decided values: a duty that builds on another's decision waits for it here (the aggregation on
 * the attestation data, the contribution on the sync message root), whichever comes first, the decision or
 * the wait. It forgets on its own, so no duty service has to prune for the others.
 */
export class DecidedValues {
  private readonly entries = new Map<string, Entry<unknown>>();
  private newest = 0;

  set<K extends DecidedType>(type: K, slot: number, value: DecidedByType[K]): void {
    this.advance(slot);
    this.entry(type, slot).resolve(value);
  }

  /** The decision of `type` at `slot`, or the deadline's rejection if it comes first. */
  await<K extends DecidedType>(type: K, slot: number, deadline: Promise<never>): Promise<DecidedByType[K]> {
    this.advance(slot);
    if (slot < this.newest - KEEP_SLOTS) return deadline;
    return Promise.race([this.entry(type, slot).value as Promise<DecidedByType[K]>, deadline]);
  }

  /** Slots and duty types held, decided or awaited. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Forgets what is more than KEEP_SLOTS behind the newest slot set or awaited. Awaits count too: a duty waits every
   * slot, and a cluster whose validators are not active yet decides nothing for months.
   */
  private advance(slot: number): void {
    if (slot <= this.newest) return;
    this.newest = slot;
    for (const [key, e] of this.entries) if (e.slot < slot - KEEP_SLOTS) this.entries.delete(key);
  }

  private entry(type: DecidedType, slot: number): Entry<unknown> {
    const key = `${type}/${slot}`;
    let e = this.entries.get(key);
    if (!e) {
      let resolve!: (value: unknown) => void;
      const value = new Promise<unknown>((r) => (resolve = r));
      this.entries.set(key, (e = {slot, value, resolve}));
    }
    return e;
  }
}
