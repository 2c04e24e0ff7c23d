import type {DhtRole} from "../dht/dhtRole.js";
import {CATCHUP_MAX_SLOTS} from "./fetchServer.js";

/**
 * One provider record per slot with durable chunks: "this node holds slot S" is what catch-up asks. Slots
 * already announced are remembered for twice the catch-up window, so a slot's many chunks cost one record; a slot
 * that leaves the window is no longer announced (its record would otherwise be provided again forever). Twice
 * 100 slots is 40 minutes at 12 s slots, within a record's validity (dhtRole's PROVIDER_RECORD_VALIDITY_MS).
 */
export class ProviderRecords {
  private readonly provided = new Set<number>();

  constructor(
    private readonly dht: DhtRole,
    private readonly lockHash: string,
  ) {}

  announce(slot: number): void {
    if (this.provided.has(slot)) return;
    this.provided.add(slot);
    if (this.provided.size > CATCHUP_MAX_SLOTS * 2) {
      const oldest = this.provided.values().next().value as number;
      this.provided.delete(oldest);
      void this.dht.cancelProvide(this.lockHash, oldest);
    }
    void this.dht.provide(this.lockHash, slot);
  }
}
