import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {R3dvError} from "../../../util/errors.js";
import type {DuePoint} from "../dutyTypes.js";

/**
 * A point's thirds of the slot when the beacon node's spec does not name it (specs before the *_DUE_BPS keys):
 * attestations and sync messages a third in, aggregates and contributions two thirds (phase0 and Altair).
 */
const CLASSIC_DUE_THIRDS: Record<Exclude<DuePoint, "slot_start">, number> = {
  attestation: 1,
  sync_message: 1,
  aggregate: 2,
  contribution: 2,
};

/** The spec key of each due point, in basis points of the slot (Gloas shortens them: 2500 and 5000). */
const DUE_BPS_KEY: Record<Exclude<DuePoint, "slot_start">, string> = {
  attestation: "ATTESTATION_DUE_BPS",
  sync_message: "SYNC_MESSAGE_DUE_BPS",
  aggregate: "AGGREGATE_DUE_BPS",
  contribution: "CONTRIBUTION_DUE_BPS",
};

/**
 * The chain's clock: genesis, slot length and where in a slot each duty is due, all read from the beacon
 * node's genesis and spec (never hard-coded: DESIGN.md "Timing facts"). The only slot clock: the node runtime,
 * the beacon client and every duty read time from one of these.
 */
export class SlotClock {
  private constructor(
    /** Seconds since the Unix epoch, as the Beacon API gives it. */
    readonly genesisTime: number,
    readonly slotMs: number,
    private readonly dueBps: Partial<Record<DuePoint, number>>,
  ) {}

  /**
   * From `/eth/v1/beacon/genesis`'s genesis_time and `/eth/v1/config/spec`'s data (strings, as the API sends
   * them). SLOT_DURATION_MS wins over SECONDS_PER_SLOT where a spec has both (it is the newer key).
   */
  static fromSpec(genesisTime: number | string, spec: Record<string, unknown>): SlotClock {
    const slotMs =
      spec.SLOT_DURATION_MS !== undefined ? Number(spec.SLOT_DURATION_MS) : Number(spec.SECONDS_PER_SLOT) * 1000;
    if (!(slotMs > 0) || !Number.isFinite(Number(genesisTime)))
      throw new SlotClockError(
        {
          code: "SLOT_CLOCK_SPEC",
          slotDurationMs: String(spec.SLOT_DURATION_MS),
          secondsPerSlot: String(spec.SECONDS_PER_SLOT),
          genesisTime: String(genesisTime),
        },
        `the beacon node's spec has SLOT_DURATION_MS=${String(spec.SLOT_DURATION_MS)} SECONDS_PER_SLOT=${String(spec.SECONDS_PER_SLOT)}, genesis_time=${String(genesisTime)}: no slot clock can be built from that; point r3dv at a beacon node that serves /eth/v1/config/spec in full`,
      );
    const dueBps: Partial<Record<DuePoint, number>> = {};
    for (const [point, key] of Object.entries(DUE_BPS_KEY) as [Exclude<DuePoint, "slot_start">, string][]) {
      const bps = Number(spec[key]);
      if (spec[key] !== undefined && bps > 0 && bps < 10_000) dueBps[point] = bps;
    }
    return new SlotClock(Number(genesisTime), slotMs, dueBps);
  }

  slotStartMs(slot: number): number {
    return this.genesisTime * 1000 + slot * this.slotMs;
  }

  currentSlot(nowMs = Date.now()): number {
    return Math.max(0, Math.floor((nowMs - this.genesisTime * 1000) / this.slotMs));
  }

  epochOf(slot: number): number {
    return Math.floor(slot / SLOTS_PER_EPOCH);
  }

  /** When a duty's result is due in `slot` (its type's DuePoint). */
  dueMs(point: DuePoint, slot: number): number {
    if (point === "slot_start") return this.slotStartMs(slot);
    const bps = this.dueBps[point];
    // Integer arithmetic, as the spec's: every node and the beacon node agree on the millisecond.
    const offset = bps ? (this.slotMs * bps) / 10_000 : (this.slotMs * CLASSIC_DUE_THIRDS[point]) / 3;
    return this.slotStartMs(slot) + Math.floor(offset);
  }
}

export type SlotClockErrorType = {
  code: "SLOT_CLOCK_SPEC";
  slotDurationMs: string;
  secondsPerSlot: string;
  genesisTime: string;
};
export class SlotClockError extends R3dvError<SlotClockErrorType> {}
