/**
 * The duty types that run consensus, and what every step of the pipeline needs to know of each, in one table:
 * - `leaderIndex`: its term in the QBFT leader formula (slot + leaderIndex + round) mod n (DESIGN.md), distinct
 *   for each type so that one slow or crashed operator does not lead every duty of a slot;
 * - `due`: the point of the slot its result is due at (the spec's *_DUE_BPS; see SlotClock.dueMs). The attester
 *   and sync message decide at it, the aggregator and contributions fetch what the pool holds at it, and the
 *   proposer's block is due at the slot's start;
 * - `lateAt`: the point after which a submitted result is reported late, because the next step of the chain
 *   has already happened without it: the attesters voted (a block), the aggregators fetched (an attestation),
 *   the contributions were fetched (a sync message).
 */
export const DUTY_TYPES = {
  attester: {leaderIndex: 0, due: "attestation", lateAt: "aggregate"},
  proposer: {leaderIndex: 1, due: "slot_start", lateAt: "attestation"},
  aggregator: {leaderIndex: 2, due: "aggregate"},
  sync_message: {leaderIndex: 3, due: "sync_message", lateAt: "contribution"},
  sync_contribution: {leaderIndex: 4, due: "contribution"},
} as const satisfies Record<string, {leaderIndex: number; due: DuePoint; lateAt?: DuePoint}>;

export type DutyType = keyof typeof DUTY_TYPES;

/** Where in a slot a duty's result is due; each but the slot start is a *_DUE_BPS of the spec. */
export type DuePoint = "slot_start" | "attestation" | "aggregate" | "sync_message" | "contribution";

/** One duty of the cluster: a type at a slot (one consensus instance, "<type>/<slot>"). */
export interface Duty {
  type: DutyType;
  slot: number;
}

export const DUTY_TYPE_NAMES = Object.keys(DUTY_TYPES) as DutyType[];
