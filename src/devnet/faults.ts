import {reject} from "./errors.js";

/**
 * Faults a test can inject for one slot: leave it empty, publish the devnet's block late, fork the head
 * (two competing blocks), build a payload with a wrong execution state root, make the builder misbehave, or
 * make an invalid block the head for the slot's votes.
 */
export type Fault =
  | {kind: "skip"; slot: number}
  | {kind: "late"; slot: number; delayMs: number}
  | {kind: "fork"; slot: number}
  | {kind: "bad_state_root"; slot: number}
  // As a beacon node with a consensus bug would: once the slot's block is imported, a sibling whose state root is
  // wrong (properly signed by the slot's proposer) is imported unchecked and made the head until 3/4 of the slot,
  // so the slot's attestation data, sync committee head and head events name it. Then the valid block is head again.
  | {kind: "invalid_head"; slot: number}
  // The same, for an execution client with a bug: the sibling is consensus-valid (its beacon state root, every
  // signature right) but its payload claims a wrong execution state root (its block hash recomputed over it), so
  // only re-executing the payload tells it apart.
  | {kind: "invalid_payload_head"; slot: number}
  // The builder (builder.ts): answers the slot's bid late, withholds its payload once the signed blinded block
  // comes, or bids with a payment to another address than the registered fee recipient (which the relay refuses).
  | {kind: "builder_late"; slot: number; delayMs: number}
  | {kind: "builder_withhold"; slot: number}
  | {kind: "builder_wrong_payee"; slot: number};

export class Faults {
  private readonly bySlot = new Map<number, Fault>();

  add(fault: Fault): void {
    if (!Number.isSafeInteger(fault.slot) || fault.slot <= 0)
      reject(`fault slot must be a positive integer, got ${fault.slot}`);
    this.bySlot.set(fault.slot, fault);
  }

  peek(slot: number): Fault | undefined {
    return this.bySlot.get(slot);
  }

  takeForSlot(slot: number): Fault | undefined {
    const f = this.bySlot.get(slot);
    this.bySlot.delete(slot);
    return f;
  }

  list(): Fault[] {
    return [...this.bySlot.values()];
  }
}
