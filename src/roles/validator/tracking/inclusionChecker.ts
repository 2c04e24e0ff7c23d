import type {Attestation, phase0} from "@lodestar/types";
import {bytesEqual} from "../../../hotpath/bytes.js";
import {errorMessage} from "../../../util/errors.js";
import type {Logger} from "../../../util/logger.js";
import type {BeaconNode} from "../beacon/beaconNode.js";

/**
 * Blocks after an attestation's slot searched for it. A healthy network includes an attestation in the next
 * block; four slots leave room for a missed or late block or two while the answer still comes within ~8 s
 * on mainnet. An attestation found later than this still earns its target reward, but is reported missed.
 */
export const INCLUSION_WINDOW_SLOTS = 4;

/** What the chain says about one submitted attestation. */
export interface InclusionResult {
  duty: "attester";
  slot: number;
  validatorIndex: number;
  included: boolean;
  /** The first block (slot) holding it, and how many slots after its own that is. */
  inclusionSlot?: number;
  delay?: number;
  /** Whether the included vote's target is the one the cluster signed (a reorg can change what counts). */
  correctTarget?: boolean;
  /** Set when the chain could not be read: the inclusion is unknown, not missed. */
  error?: string;
}

/** Where a validator sits in its slot's committees: from its attester duty. */
export interface CommitteePosition {
  validatorIndex: number;
  committeeIndex: number;
  validatorCommitteeIndex: number;
}

interface Tracked extends CommitteePosition {
  target: phase0.Checkpoint;
}

/**
 * Checks every submitted attestation against the chain INCLUSION_WINDOW_SLOTS later: reads the blocks of
 * the window and finds each validator's bit at its duty's place (its committee and its index in it), and reports
 * each validator included or not. This is the validator's own view of effectiveness, the number that decides
 * rewards. Before Electra the duty alone says where the bit is; from Electra an aggregate concatenates several
 * committees' bits, so the slot's committees are read too, and checked against the duties: a beacon node whose
 * committees disagree with its own duties (Lodestar 1.5.1's committees route answers another slot's) makes the
 * inclusion unknown, never "missed".
 */
export class InclusionChecker {
  private readonly bySlot = new Map<number, Tracked[]>();

  constructor(
    private readonly beacon: BeaconNode,
    private readonly onResult: (r: InclusionResult) => void,
    private readonly logger: Logger,
  ) {}

  track(slot: number, position: CommitteePosition, target: phase0.Checkpoint): void {
    const list = this.bySlot.get(slot) ?? [];
    list.push({...position, target});
    this.bySlot.set(slot, list);
  }

  /** Called every slot: checks the slots whose window has closed. */
  onSlot(current: number): void {
    for (const slot of [...this.bySlot.keys()]) {
      if (slot + INCLUSION_WINDOW_SLOTS >= current) continue;
      const tracked = this.bySlot.get(slot) as Tracked[];
      this.bySlot.delete(slot);
      void this.check(slot, tracked).catch((e: unknown) => this.logger.error("inclusion check failed", {slot}, e));
    }
  }

  private async check(slot: number, tracked: Tracked[]): Promise<void> {
    let found: Map<number, {inclusionSlot: number; target: phase0.Checkpoint}>;
    try {
      const electra = this.beacon.isElectra(slot);
      const committees = electra ? await this.beacon.committeesAt(slot) : undefined;
      if (committees) checkCommittees(committees, tracked);
      found = new Map();
      for (let b = slot + 1; b <= slot + INCLUSION_WINDOW_SLOTS; b++) {
        for (const att of (await this.beacon.blockAttestations(b)) ?? []) {
          if (att.data.slot !== slot) continue;
          const voters = committees
            ? new Set(attesters(att, committees, true))
            : new Set(tracked.filter((t) => votedIn(att, t)).map((t) => t.validatorIndex));
          for (const v of voters) if (!found.has(v)) found.set(v, {inclusionSlot: b, target: att.data.target});
        }
      }
    } catch (e) {
      for (const t of tracked)
        this.onResult({
          duty: "attester",
          slot,
          validatorIndex: t.validatorIndex,
          included: false,
          error: errorMessage(e),
        });
      return;
    }
    for (const t of tracked) {
      const f = found.get(t.validatorIndex);
      if (!f) {
        this.onResult({duty: "attester", slot, validatorIndex: t.validatorIndex, included: false});
        continue;
      }
      const correctTarget = f.target.epoch === t.target.epoch && bytesEqual(f.target.root, t.target.root);
      this.onResult({
        duty: "attester",
        slot,
        validatorIndex: t.validatorIndex,
        included: true,
        inclusionSlot: f.inclusionSlot,
        delay: f.inclusionSlot - slot,
        correctTarget,
      });
    }
  }
}

/** Before Electra an attestation covers one committee (`data.index`), its bits in committee order. */
function votedIn(att: Attestation, t: CommitteePosition): boolean {
  return att.data.index === t.committeeIndex && att.aggregationBits.get(t.validatorCommitteeIndex);
}

/** The committees must put every tracked validator where its duty does; else they are not this slot's. */
function checkCommittees(committees: Map<number, number[]>, tracked: CommitteePosition[]): void {
  for (const t of tracked) {
    const at = committees.get(t.committeeIndex)?.[t.validatorCommitteeIndex];
    if (at !== t.validatorIndex)
      throw new Error(
        `the beacon node's committees put validator ${at ?? "none"} where validator ${t.validatorIndex}'s duty is (committee ${t.committeeIndex}, position ${t.validatorCommitteeIndex}): inclusion unknown`,
      );
  }
}

/** Validator indices whose bits are set in an attestation, given the slot's committees. */
export function attesters(att: Attestation, committees: Map<number, number[]>, electra: boolean): number[] {
  const out: number[] = [];
  const bits = att.aggregationBits;
  const take = (committee: number[] | undefined, offset: number) => {
    if (!committee) return;
    for (let i = 0; i < committee.length; i++) if (bits.get(offset + i)) out.push(committee[i] as number);
  };
  if (!electra) {
    take(committees.get(att.data.index), 0);
    return out;
  }
  // Electra (EIP-7549): committee_bits says which committees the aggregate covers; aggregation_bits
  // concatenates their members in ascending committee order.
  let offset = 0;
  for (const ci of (att as {committeeBits: {getTrueBitIndexes(): number[]}}).committeeBits.getTrueBitIndexes()) {
    const committee = committees.get(ci);
    // Without its length, where the next committees' bits start is unknown: better report fewer than wrong ones.
    if (!committee) break;
    take(committee, offset);
    offset += committee.length;
  }
  return out;
}
