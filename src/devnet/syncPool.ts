import {aggregateSignatures, type Signature} from "@chainsafe/blst";
import {BitArray} from "@chainsafe/ssz";
import {SYNC_COMMITTEE_SIZE, SYNC_COMMITTEE_SUBNET_SIZE} from "@lodestar/params";
import type {altair} from "@lodestar/types";
import {toHex} from "../hotpath/bytes.js";

/** BLS G2 point at infinity: the signature of an empty sync aggregate, as the spec requires. */
export const G2_POINT_AT_INFINITY = Uint8Array.from([0xc0, ...new Array<number>(95).fill(0)]);

/** Checked sync committee signatures, by slot and block root, by position in the committee. */
export class SyncPool {
  private readonly bySlot = new Map<number, Map<string, Map<number, Signature>>>();

  /** `positions`: every place the validator holds in the sync committee (small committees repeat members). */
  add(slot: number, blockRoot: Uint8Array, positions: number[], signature: Signature): void {
    let slotMap = this.bySlot.get(slot);
    if (!slotMap) this.bySlot.set(slot, (slotMap = new Map()));
    const key = toHex(blockRoot);
    let positionsMap = slotMap.get(key);
    if (!positionsMap) slotMap.set(key, (positionsMap = new Map()));
    for (const p of positions) if (!positionsMap.has(p)) positionsMap.set(p, signature);
  }

  /** The block's sync aggregate: signatures of slot `slot` over `blockRoot` (the new block's parent). */
  syncAggregate(slot: number, blockRoot: Uint8Array): altair.SyncAggregate {
    const positionsMap = this.bySlot.get(slot)?.get(toHex(blockRoot));
    const bits = BitArray.fromBitLen(SYNC_COMMITTEE_SIZE);
    if (!positionsMap || positionsMap.size === 0) return {syncCommitteeBits: bits, syncCommitteeSignature: G2_POINT_AT_INFINITY};
    const sigs: Signature[] = [];
    for (const [p, sig] of positionsMap) {
      bits.set(p, true);
      sigs.push(sig);
    }
    return {syncCommitteeBits: bits, syncCommitteeSignature: aggregateSignatures(sigs).toBytes()};
  }

  contribution(slot: number, blockRoot: Uint8Array, subcommitteeIndex: number): altair.SyncCommitteeContribution | null {
    const positionsMap = this.bySlot.get(slot)?.get(toHex(blockRoot));
    const bits = BitArray.fromBitLen(SYNC_COMMITTEE_SUBNET_SIZE);
    const sigs: Signature[] = [];
    const start = subcommitteeIndex * SYNC_COMMITTEE_SUBNET_SIZE;
    for (const [p, sig] of positionsMap ?? []) {
      if (p < start || p >= start + SYNC_COMMITTEE_SUBNET_SIZE) continue;
      bits.set(p - start, true);
      sigs.push(sig);
    }
    if (sigs.length === 0) return null;
    return {slot, beaconBlockRoot: blockRoot, subcommitteeIndex, aggregationBits: bits, signature: aggregateSignatures(sigs).toBytes()};
  }

  prune(currentSlot: number): void {
    // 4 slots: a sync aggregate only ever uses the previous slot's signatures; the rest is slack for late callers.
    for (const s of this.bySlot.keys()) if (s < currentSlot - 4) this.bySlot.delete(s);
  }
}
