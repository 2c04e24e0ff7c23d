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
  // The same with a payload whose state root is right but that carries one more transaction, which must fail (its
  // sender has no funds): the block cannot be executed at all, as an execution client that skipped a check would
  // have accepted it.
  | {kind: "invalid_tx_head"; slot: number}
  // The builder (builder.ts): answers the slot's bid late, withholds its payload once the signed blinded block
  // comes, or bids with a payment to another address than the registered fee recipient (which the relay refuses).
  | {kind: "builder_late"; slot: number; delayMs: number}
  | {kind: "builder_withhold"; slot: number}
  | {kind: "builder_wrong_payee"; slot: number};

/** What a payload fault makes wrong: the execution state root it claims, or a transaction that cannot run. */
export type PayloadFault = "state_root" | "failing_tx";

/** The invalid-head faults, and what each makes wrong: the beacon block's state root (none here) or its payload. */
const INVALID_HEADS = {
  invalid_head: undefined,
  invalid_payload_head: "state_root",
  invalid_tx_head: "failing_tx",
} as const;
export type InvalidHeadKind = keyof typeof INVALID_HEADS;

/** The invalid-head fault that makes `payload` wrong (none: the beacon block's state root). */
export function invalidHeadKind(payload: PayloadFault | undefined): InvalidHeadKind {
  return (Object.keys(INVALID_HEADS) as InvalidHeadKind[]).find((k) => INVALID_HEADS[k] === payload) as InvalidHeadKind;
}

/** The fault's invalid head, if it makes one: with what is wrong in its payload (none: its beacon state root). */
export function invalidHead(f: Fault | undefined): {payload: PayloadFault | undefined} | undefined {
  return f && f.kind in INVALID_HEADS ? {payload: INVALID_HEADS[f.kind as InvalidHeadKind]} : undefined;
}

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
