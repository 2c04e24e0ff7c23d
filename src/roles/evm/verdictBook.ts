import type {BlockVerdict} from "./verdict.js";

/**
 * Verdicts remembered, oldest forgotten first: the validator role asks about heads and their recent ancestors
 * (an attestation's head, target and source are within two epochs), and 1024 blocks are 32 mainnet epochs,
 * 128 minimal ones, at a few hundred bytes each.
 */
const VERDICTS_KEPT = 1024;

/** This node's verdict per block root: what "sign only what was verified" will read. */
export class VerdictBook {
  private readonly byRoot = new Map<string, BlockVerdict>();

  constructor(private readonly limit = VERDICTS_KEPT) {}

  get(root: string): BlockVerdict | undefined {
    return this.byRoot.get(root.toLowerCase());
  }

  set(v: BlockVerdict): void {
    // Re-inserted so a block judged again (unavailable, then verified) counts as new for the eviction order.
    this.byRoot.delete(v.root);
    this.byRoot.set(v.root, v);
    while (this.byRoot.size > this.limit) this.byRoot.delete(this.byRoot.keys().next().value as string);
  }

  get size(): number {
    return this.byRoot.size;
  }

  all(): IterableIterator<BlockVerdict> {
    return this.byRoot.values();
  }

  /**
   * The verified block with the highest slot at or before `maxSlot` (the latest judged among equals): what a
   * duty votes for when the beacon node's head is not verified, the tip of the chain this node checked.
   */
  newestVerified(maxSlot: number): {root: string; slot: number} | undefined {
    let best: {root: string; slot: number} | undefined;
    for (const v of this.byRoot.values())
      if (v.status === "verified" && v.slot <= maxSlot && (!best || v.slot >= best.slot))
        best = {root: v.root, slot: v.slot};
    return best;
  }

  /**
   * The newest verified block's slot, the newest verdict's (the last set: blocks are settled oldest first), and
   * the verdicts kept by status: what `r3dv status` says of verification.
   */
  summary(): VerdictSummary {
    let lastVerifiedSlot: number | undefined;
    let last: BlockVerdict | undefined;
    const counts: Record<BlockVerdict["status"], number> = {verified: 0, invalid: 0, unavailable: 0};
    for (const v of this.byRoot.values()) {
      counts[v.status]++;
      last = v;
      if (v.status === "verified" && (lastVerifiedSlot === undefined || v.slot > lastVerifiedSlot))
        lastVerifiedSlot = v.slot;
    }
    return {
      counts,
      ...(lastVerifiedSlot === undefined ? {} : {lastVerifiedSlot}),
      ...(last
        ? {
            last: {
              status: last.status,
              root: last.root,
              slot: last.slot,
              ...("reason" in last ? {reason: last.reason} : {}),
            },
          }
        : {}),
    };
  }
}

export interface VerdictSummary {
  counts: Record<BlockVerdict["status"], number>;
  lastVerifiedSlot?: number;
  last?: {status: BlockVerdict["status"]; root: string; slot?: number; reason?: string};
}
