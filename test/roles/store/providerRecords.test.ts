import assert from "node:assert/strict";
import {describe, it} from "node:test";
import type {DhtRole} from "../../../src/roles/dht/dhtRole.js";
import {CATCHUP_MAX_SLOTS} from "../../../src/roles/store/fetchServer.js";
import {ProviderRecords} from "../../../src/roles/store/providerRecords.js";

describe("provider records", () => {
  it("announces each slot once, and stops announcing a slot once it is past twice the catch-up window", () => {
    const provided: number[] = [];
    const cancelled: number[] = [];
    // A DHT twin recording calls: the DHT role itself runs in the cluster and catch-up tests.
    const dht = {
      provide: async (_lock: string, slot: number) => void provided.push(slot),
      cancelProvide: async (_lock: string, slot: number) => void cancelled.push(slot),
    } as unknown as DhtRole;
    const records = new ProviderRecords(dht, "0xlock");
    const last = 2 * CATCHUP_MAX_SLOTS + 10;
    for (let slot = 1; slot <= last; slot++) for (let chunk = 0; chunk < 3; chunk++) records.announce(slot);
    assert.equal(provided.length, last, "one record per slot, however many chunks");
    assert.deepEqual(
      cancelled,
      Array.from({length: 10}, (_, i) => i + 1),
      "the ten oldest slots are no longer announced",
    );
  });
});
