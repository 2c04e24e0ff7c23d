import {aggregateSignatures, type Signature} from "@chainsafe/blst";
import {BitArray} from "@chainsafe/ssz";
import {MAX_ATTESTATIONS_ELECTRA, MAX_COMMITTEES_PER_SLOT, SLOTS_PER_EPOCH} from "@lodestar/params";
import {ssz, type electra, type phase0} from "@lodestar/types";
import {toHex} from "../hotpath/bytes.js";

interface CommitteeVotes {
  size: number;
  /** position in committee -> that validator's signature (or an aggregate's, keyed by its first position). */
  signatures: Map<number, {positions: number[]; signature: Signature}>;
  covered: Set<number>;
}

interface DataEntry {
  data: phase0.AttestationData;
  committees: Map<number, CommitteeVotes>;
  /** Validator indices of every vote held, so packing can skip votes the chain already has. */
  validators: number[];
}

/** Checked votes waiting for a block: what a beacon node's op pool holds after gossip validation. */
export class AttestationPool {
  private readonly bySlot = new Map<number, Map<string, DataEntry>>();

  /** Adds validated votes; returns false when every position was already covered (a duplicate). */
  add(
    data: phase0.AttestationData,
    committee: Uint32Array,
    committeeIndex: number,
    positions: number[],
    signature: Signature,
  ): boolean {
    const committeeSize = committee.length;
    let slotMap = this.bySlot.get(data.slot);
    if (!slotMap) this.bySlot.set(data.slot, (slotMap = new Map()));
    const key = toHex(ssz.phase0.AttestationData.hashTreeRoot(data));
    let entry = slotMap.get(key);
    if (!entry) slotMap.set(key, (entry = {data, committees: new Map(), validators: []}));
    let votes = entry.committees.get(committeeIndex);
    if (!votes)
      entry.committees.set(committeeIndex, (votes = {size: committeeSize, signatures: new Map(), covered: new Set()}));
    // Disjoint sets aggregate exactly; an overlapping aggregate would double-count a signature, so it is skipped.
    if (positions.some((p) => votes.covered.has(p))) return false;
    for (const p of positions) {
      votes.covered.add(p);
      entry.validators.push(committee[p] as number);
    }
    votes.signatures.set(positions[0] as number, {positions, signature});
    return true;
  }

  /** The Electra on-chain aggregate of every vote for `dataRoot`, restricted to `committeeIndex` if given. */
  getAggregate(slot: number, dataRoot: Uint8Array, committeeIndex?: number): electra.Attestation | null {
    const entry = this.bySlot.get(slot)?.get(toHex(dataRoot));
    return entry ? this.aggregate(entry, committeeIndex) : null;
  }

  private aggregate(entry: DataEntry, onlyCommittee?: number): electra.Attestation | null {
    const committeeIndices = [...entry.committees.keys()]
      .filter((c) => onlyCommittee === undefined || c === onlyCommittee)
      .sort((a, b) => a - b);
    if (committeeIndices.length === 0) return null;
    const bits: boolean[] = [];
    const sigs: Signature[] = [];
    const committeeBits = BitArray.fromBitLen(MAX_COMMITTEES_PER_SLOT);
    for (const c of committeeIndices) {
      const votes = entry.committees.get(c) as CommitteeVotes;
      committeeBits.set(c, true);
      for (let i = 0; i < votes.size; i++) bits.push(votes.covered.has(i));
      for (const s of votes.signatures.values()) sigs.push(s.signature);
    }
    return {
      aggregationBits: BitArray.fromBoolArray(bits),
      data: entry.data,
      committeeBits,
      signature: aggregateSignatures(sigs).toBytes(),
    };
  }

  /**
   * Attestations for a block at `slot`, newest first, filtered by `accept` (the state's source check and "adds a
   * vote the chain lacks"), at most
   * MAX_ATTESTATIONS_ELECTRA. Electra allows any slot of the current and previous epoch.
   */
  pack(slot: number, accept: (data: phase0.AttestationData, validators: number[]) => boolean): electra.Attestation[] {
    const out: electra.Attestation[] = [];
    const oldest = Math.max(0, slot - 2 * SLOTS_PER_EPOCH);
    for (let s = slot - 1; s >= oldest && out.length < MAX_ATTESTATIONS_ELECTRA; s--) {
      for (const entry of this.bySlot.get(s)?.values() ?? []) {
        if (out.length >= MAX_ATTESTATIONS_ELECTRA) break;
        if (!accept(entry.data, entry.validators)) continue;
        const att = this.aggregate(entry);
        if (att) out.push(att);
      }
    }
    return out;
  }

  prune(currentSlot: number): void {
    for (const s of this.bySlot.keys()) if (s < currentSlot - 2 * SLOTS_PER_EPOCH - 1) this.bySlot.delete(s);
  }
}
