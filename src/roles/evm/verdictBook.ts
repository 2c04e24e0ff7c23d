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
}
