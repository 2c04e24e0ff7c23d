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
  /** Best checked contribution per slot, block root and subcommittee: used where it covers more than the messages. */
  private readonly contributions = new Map<string, {positions: number[]; signature: Signature}>();

  /** `positions`: every place the validator holds in the sync committee (small committees repeat members). */
  add(slot: number, blockRoot: Uint8Array, positions: number[], signature: Signature): void {
    let slotMap = this.bySlot.get(slot);
    if (!slotMap) this.bySlot.set(slot, (slotMap = new Map()));
    const key = toHex(blockRoot);
    let positionsMap = slotMap.get(key);
    if (!positionsMap) slotMap.set(key, (positionsMap = new Map()));
    for (const p of positions) if (!positionsMap.has(p)) positionsMap.set(p, signature);
  }

  /** A checked contribution; `positions` are absolute positions in the sync committee. */
  addContribution(
    slot: number,
    blockRoot: Uint8Array,
    subcommitteeIndex: number,
    positions: number[],
    signature: Signature,
  ): void {
    const key = `${slot}:${toHex(blockRoot)}:${subcommitteeIndex}`;
    const best = this.contributions.get(key);
    if (!best || positions.length > best.positions.length) this.contributions.set(key, {positions, signature});
  }

  /** One subcommittee's best cover: its members' own messages, or a contribution if that has more of them. */
  private subcommittee(
    slot: number,
    blockRoot: Uint8Array,
    sub: number,
  ): {positions: number[]; signatures: Signature[]} {
    const start = sub * SYNC_COMMITTEE_SUBNET_SIZE;
    const positions: number[] = [];
    const signatures: Signature[] = [];
    for (const [p, sig] of this.bySlot.get(slot)?.get(toHex(blockRoot)) ?? []) {
      if (p < start || p >= start + SYNC_COMMITTEE_SUBNET_SIZE) continue;
      positions.push(p);
      signatures.push(sig);
    }
    const c = this.contributions.get(`${slot}:${toHex(blockRoot)}:${sub}`);
    if (c && c.positions.length > positions.length) return {positions: c.positions, signatures: [c.signature]};
    return {positions, signatures};
  }

  /** The block's sync aggregate: signatures of slot `slot` over `blockRoot` (the new block's parent). */
  syncAggregate(slot: number, blockRoot: Uint8Array): altair.SyncAggregate {
    const bits = BitArray.fromBitLen(SYNC_COMMITTEE_SIZE);
    const sigs: Signature[] = [];
    for (let sub = 0; sub < SYNC_COMMITTEE_SIZE / SYNC_COMMITTEE_SUBNET_SIZE; sub++) {
      const {positions, signatures} = this.subcommittee(slot, blockRoot, sub);
      for (const p of positions) bits.set(p, true);
      sigs.push(...signatures);
    }
    if (sigs.length === 0) return {syncCommitteeBits: bits, syncCommitteeSignature: G2_POINT_AT_INFINITY};
    return {syncCommitteeBits: bits, syncCommitteeSignature: aggregateSignatures(sigs).toBytes()};
  }

  contribution(
    slot: number,
    blockRoot: Uint8Array,
    subcommitteeIndex: number,
  ): altair.SyncCommitteeContribution | null {
    const {positions, signatures} = this.subcommittee(slot, blockRoot, subcommitteeIndex);
    if (signatures.length === 0) return null;
    const bits = BitArray.fromBitLen(SYNC_COMMITTEE_SUBNET_SIZE);
    for (const p of positions) bits.set(p - subcommitteeIndex * SYNC_COMMITTEE_SUBNET_SIZE, true);
    return {
      slot,
      beaconBlockRoot: blockRoot,
      subcommitteeIndex,
      aggregationBits: bits,
      signature: aggregateSignatures(signatures).toBytes(),
    };
  }

  prune(currentSlot: number): void {
    // 4 slots: a sync aggregate only ever uses the previous slot's signatures; the rest is slack for late callers.
    for (const s of this.bySlot.keys()) if (s < currentSlot - 4) this.bySlot.delete(s);
    for (const k of this.contributions.keys())
      if (Number(k.split(":")[0]) < currentSlot - 4) this.contributions.delete(k);
  }
}
