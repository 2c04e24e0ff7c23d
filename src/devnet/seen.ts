/** Slots a "seen" key is kept: gossip accepts votes and aggregates at most an epoch old. */
const KEPT_SLOTS = 64;

/**
 * Gossip's "already known" check: a message identical in its key to one already validated is accepted again
 * without verifying its signatures, as a beacon node ignores a duplicate before any BLS work. Every node of a
 * cluster submits the same recovered message, so this spares the devnet three of every four verifications.
 */
export class SeenCache {
  private readonly bySlot = new Map<number, Set<string>>();

  has(slot: number, key: string): boolean {
    return this.bySlot.get(slot)?.has(key) ?? false;
  }

  add(slot: number, key: string): void {
    let set = this.bySlot.get(slot);
    if (!set) {
      this.bySlot.set(slot, (set = new Set()));
      for (const s of this.bySlot.keys()) if (s < slot - KEPT_SLOTS) this.bySlot.delete(s);
    }
    set.add(key);
  }
}
