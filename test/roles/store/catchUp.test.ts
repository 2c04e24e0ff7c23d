import assert from "node:assert/strict";
import {describe, it} from "node:test";
import type {ClusterPeer} from "../../../src/roles/dht/dhtRole.js";
import {CatchUp, type CatchUpOptions} from "../../../src/roles/store/catchUp.js";
import type {FetchRequest} from "../../../src/roles/store/fetchServer.js";
import {createLogger} from "../../../src/util/logger.js";
import {waitFor} from "../../helpers/cluster.js";

/**
 * The catch-up's decisions on a twin of its DHT and series (the real ones run in test/node/crash.test.ts):
 * which range it asks for and when it asks again.
 */
describe("catch-up after a restart", () => {
  it("waits for the slot clock: a catch-up before the beacon node told the time does not end the outage's range", async () => {
    const peer = {index: 3, connected: true} as ClusterPeer;
    let now: number | undefined;
    const asked: FetchRequest[] = [];
    const o = {
      lock: {lock_hash: "0x00"},
      dht: {routingTableSize: () => 1, connected: () => [peer], findProviders: async () => []},
      series: {views: {lastChunkSlot: 10}},
      currentSlot: () => now,
      logger: createLogger("error", "test"),
      fetchFrom: async (_p: ClusterPeer, req: FetchRequest) => (asked.push(req), 0),
    } as unknown as CatchUpOptions;
    const catchUp = new CatchUp(o);
    try {
      catchUp.start(0);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(asked, [], "nothing is fetched before the clock is known");
      now = 40;
      const req = await waitFor("the outage's range fetched", async () => asked[0], 10_000, 50);
      assert.deepEqual(req, {fromSlot: 10, toSlot: 40, durableOnly: true});
      assert.equal(catchUp.last?.toSlot, 40);
    } finally {
      await catchUp.stop();
    }
  });
});
