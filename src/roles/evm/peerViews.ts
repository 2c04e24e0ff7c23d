import type {BlockView} from "./blockView.js";
import type {BlockVerdict} from "./verdict.js";

/**
 * Blocks whose peers' views are remembered, oldest forgotten first: as many as the node's own verdicts
 * (verdictBook.ts), since a duty asks about a head and its recent ancestors only.
 */
const ROOTS_KEPT = 1024;

/** What one peer said about blocks so far: for `r3dv status` and the health of the sharing. */
export interface PeerViewSummary {
  lastSlot: number;
  valid: number;
  invalid: number;
  unverified: number;
}

/**
 * Every peer's newest view per block root, from the `eth_block` chunks the store admitted: what a node whose own
 * verification lags may sign on ("sign only what was verified": by this node, or by `threshold` nodes).
 */
export class PeerViews {
  private readonly byRoot = new Map<string, Map<number, BlockView>>();
  private readonly byOrigin = new Map<number, PeerViewSummary>();
  private readonly listeners = new Set<(origin: number, view: BlockView) => void>();

  constructor(private readonly limit = ROOTS_KEPT) {}

  record(origin: number, view: BlockView): void {
    const root = view.root.toLowerCase();
    const views = this.byRoot.get(root) ?? new Map<number, BlockView>();
    views.set(origin, view);
    // Re-inserted so a block still being talked about counts as new for the eviction order.
    this.byRoot.delete(root);
    this.byRoot.set(root, views);
    while (this.byRoot.size > this.limit) this.byRoot.delete(this.byRoot.keys().next().value as string);
    const s = this.byOrigin.get(origin) ?? {lastSlot: 0, valid: 0, invalid: 0, unverified: 0};
    s[view.verdict]++;
    s.lastSlot = Math.max(s.lastSlot, view.slot);
    this.byOrigin.set(origin, s);
    for (const l of this.listeners) l(origin, view);
  }

  /** The operators whose newest view of `root` is `valid`, ascending. */
  validBy(root: string): number[] {
    const views = this.byRoot.get(root.toLowerCase());
    if (!views) return [];
    return [...views]
      .filter(([, v]) => v.verdict === "valid")
      .map(([origin]) => origin)
      .sort((a, b) => a - b);
  }

  /** Every peer's newest view of `root`, by operator. */
  viewsOf(root: string): ReadonlyMap<number, BlockView> {
    return this.byRoot.get(root.toLowerCase()) ?? new Map();
  }

  /** Calls `listener` with every view recorded from now on; returns its removal. */
  onView(listener: (origin: number, view: BlockView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  summary(): Record<string, PeerViewSummary> {
    return Object.fromEntries([...this.byOrigin].sort(([a], [b]) => a - b).map(([o, s]) => [String(o), {...s}]));
  }
}

/**
 * Whether a peer's view contradicts this node's own verdict: one found the block valid, the other invalid. An
 * `unverified` on either side contradicts nothing (it is no verdict). A contradiction means one of the two
 * nodes runs a buggy client, or a peer lies: operators must look.
 */
export function contradicts(own: BlockVerdict | undefined, view: BlockView): boolean {
  return (
    (own?.status === "verified" && view.verdict === "invalid") ||
    (own?.status === "invalid" && view.verdict === "valid")
  );
}
