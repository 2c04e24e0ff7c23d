/**
 * The four limiters of DESIGN.md ("Push model and the four limiters"), as pure functions of the receiver's
 * derived state. Each gives a factor in [0, 1]; their product is the chunk's admission priority.
 */

export const LIMITERS = ["economic", "objective", "w_tracking", "topology"] as const;
export type LimiterName = (typeof LIMITERS)[number];

/** Below this economic factor a chunk is refused `storage_full` (DESIGN.md): keep 20% of the budget for compaction and snapshots. */
export const ECONOMIC_REFUSE_BELOW = 0.2;
/** Objective bands in slots (DESIGN.md): under 10 slots is the current duty, under 100 still useful for catch-up and audit. */
export const OBJECTIVE_CURRENT_SLOTS = 10;
export const OBJECTIVE_RECENT_SLOTS = 100;
/**
 * How far ahead of this node's slot a chunk may be: one slot covers an honest peer whose clock (or slot
 * boundary) is ahead of ours by up to a slot; anything further is not a duty yet, and would count as
 * "current" for as long as the clock takes to get there.
 */
export const OBJECTIVE_FUTURE_SLOTS = 1;
/**
 * Block views per origin per epoch: W-tracking's denominator. DESIGN.md's one per slot of a 32-slot epoch, plus a
 * quarter: an honest node also reports the second block of a slot (an equivocation, a reorg's sibling, the
 * devnet's invalid heads), and at exactly 32 a devnet run refused honest views every epoch that had one. Two views
 * a slot, every slot, stays refused (W_SLOT_ALLOWANCE bounds a single slot).
 */
export const W_EPOCH_ALLOWANCE = 40;
/**
 * Block views one origin may send for one slot: a node verifies one block per slot, and a second covers a slot
 * with two blocks (a proposer's equivocation, which gossips on mainnet until it is slashed, or the devnet's
 * injected invalid head beside the valid block): a node must be able to report on both. A third is no honest
 * node's: refused, so a peer cannot spend its whole epoch allowance on one slot.
 */
export const W_SLOT_ALLOWANCE = 2;
/** W-tracking's floor (DESIGN.md): a busy origin is deprioritised, not silenced, until its allowance is spent. */
export const W_FLOOR = 0.1;
/** Fewer connected store peers than this and the node may be eclipsed (DESIGN.md): take only what the current duty needs. */
export const TOPOLOGY_MIN_PEERS = 3;
export const TOPOLOGY_ISOLATED_FACTOR = 0.2;

export interface LimiterInputs {
  bytesStored: number;
  budgetBytes: number;
  currentSlot: number;
  chunkSlot: number;
  /** `eth_block` chunks already accepted this epoch from the chunk's origin (0 for other kinds). */
  ethBlocksThisEpoch: number;
  /** `eth_block` chunks already accepted for the chunk's slot from its origin (0 for other kinds). */
  ethBlocksThisSlot: number;
  isEthBlock: boolean;
  connectedStorePeers: number;
}

export interface LimiterFactors {
  economic: number;
  objective: number;
  w_tracking: number;
  topology: number;
}

export type Admission =
  | {admit: true; priority: number; factors: LimiterFactors}
  | {admit: false; priority: number; factors: LimiterFactors; limiter: LimiterName; reason: string};

export function economicFactor(used: number, budget: number): number {
  return budget <= 0 ? 0 : Math.max(0, 1 - used / budget);
}

/** Chunks from the next slot (a peer's clock ahead) count as current; further ahead is refused by evaluateLimiters. */
export function objectiveFactor(currentSlot: number, chunkSlot: number): number {
  const age = currentSlot - chunkSlot;
  if (age < OBJECTIVE_CURRENT_SLOTS) return 1.0;
  if (age < OBJECTIVE_RECENT_SLOTS) return 0.5;
  return 0.1;
}

export function wTrackingFactor(accepted: number): number {
  return Math.max(W_FLOOR, 1 - accepted / W_EPOCH_ALLOWANCE);
}

export function topologyFactor(peers: number): number {
  return peers < TOPOLOGY_MIN_PEERS ? TOPOLOGY_ISOLATED_FACTOR : 1.0;
}

/**
 * Factors, then the refusals the table implies when the node is not under load; which chunks are refused
 * under load is the inbound queue's job (lowest priority first). Each limiter refuses at the end of its range:
 * - economic below 0.2 (`storage_full`, the table's rule);
 * - objective at its floor: 100 slots or older is history, which a node fetches, never accepts by push; and
 *   beyond the next slot (`future_slot`): no duty is there yet;
 * - W-tracking when 1 - n/W_EPOCH_ALLOWANCE reaches 0: the origin's allowance for the epoch is spent; and when
 *   the origin already sent W_SLOT_ALLOWANCE views of the chunk's slot;
 * - topology while isolated, for everything but the current duty (objective 1.0), which is never starved.
 */
export function evaluateLimiters(x: LimiterInputs): Admission {
  const factors: LimiterFactors = {
    economic: economicFactor(x.bytesStored, x.budgetBytes),
    objective: objectiveFactor(x.currentSlot, x.chunkSlot),
    w_tracking: x.isEthBlock ? wTrackingFactor(x.ethBlocksThisEpoch) : 1.0,
    topology: topologyFactor(x.connectedStorePeers),
  };
  const priority = factors.economic * factors.objective * factors.w_tracking * factors.topology;
  const refuse = (limiter: LimiterName, reason: string): Admission => ({
    admit: false,
    priority,
    factors,
    limiter,
    reason,
  });
  if (factors.economic < ECONOMIC_REFUSE_BELOW) return refuse("economic", "storage_full");
  if (x.currentSlot - x.chunkSlot >= OBJECTIVE_RECENT_SLOTS) return refuse("objective", "too_old");
  if (x.chunkSlot - x.currentSlot > OBJECTIVE_FUTURE_SLOTS) return refuse("objective", "future_slot");
  if (x.isEthBlock && x.ethBlocksThisEpoch >= W_EPOCH_ALLOWANCE) return refuse("w_tracking", "epoch_allowance_spent");
  if (x.isEthBlock && x.ethBlocksThisSlot >= W_SLOT_ALLOWANCE) return refuse("w_tracking", "slot_allowance_spent");
  if (x.connectedStorePeers < TOPOLOGY_MIN_PEERS && factors.objective < 1.0) return refuse("topology", "too_few_peers");
  return {admit: true, priority, factors};
}

/** The limiter with the smallest factor: the one named when a chunk loses its place to load. */
export function weakestLimiter(f: LimiterFactors): LimiterName {
  let best: LimiterName = "economic";
  for (const l of LIMITERS) if (f[l] < f[best]) best = l;
  return best;
}
