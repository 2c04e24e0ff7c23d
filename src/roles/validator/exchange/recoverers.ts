/** `r3dv run --recoverers`: which nodes recover and submit each attestation. */
export const RECOVERER_MODES = ["all", "designated"] as const;
export type RecovererMode = (typeof RECOVERER_MODES)[number];

/**
 * Which operators recover and submit a validator's attestation for a slot.
 *
 * - `all`: every node that signed recovers and submits (the most redundancy: any one node with a working beacon
 *   node gets the attestation out). Each node then recovers every signature of the cluster: at 10,000 validators
 *   that recovery, not signing, is most of a node's CPU at the due time (issue 14's measurements).
 * - `designated`: n - t + 1 operators per validator and slot, rotating with both so each node recovers about
 *   (n - t + 1) / n of the signatures (half at 3-of-4). Every node still signs and shares its partial. When a
 *   quorum of t nodes is up, at most n - t are down, so at least one designated operator is up whenever the
 *   cluster can sign at all; what is given up is the extra redundancy past that (a designated node whose beacon
 *   nodes all fail, while another designated node is down, leaves the attestation unsubmitted).
 */
export class Recoverers {
  private readonly count: number;

  constructor(
    readonly mode: RecovererMode,
    private readonly n: number,
    threshold: number,
    private readonly self: number,
  ) {
    this.count = mode === "all" ? n : n - threshold + 1;
  }

  /** The operators (1-based, ascending) that recover this validator's attestation at this slot. */
  of(slot: number, validatorIndex: number): number[] {
    const first = (slot + validatorIndex) % this.n;
    const out: number[] = [];
    for (let j = 0; j < this.count; j++) out.push(((first + j) % this.n) + 1);
    return out.sort((a, b) => a - b);
  }

  /** Whether this node recovers and submits this validator's attestation at this slot. */
  recovers(slot: number, validatorIndex: number): boolean {
    return this.count === this.n || this.of(slot, validatorIndex).includes(this.self);
  }
}
