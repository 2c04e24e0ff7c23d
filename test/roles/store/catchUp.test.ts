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
      fetch: async (_p: ClusterPeer, req: FetchRequest) => (asked.push(req), {added: 0, retryable: 0}),
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

  it("stops after the lookup in flight: a node shutting down does not wait out a gap of lookups that find nobody", async () => {
    const LOOKUP_MS = 200;
    let lookups = 0;
    const asked: FetchRequest[] = [];
    const o = {
      lock: {lock_hash: "0x00"},
      dht: {
        routingTableSize: () => 1,
        connected: () => [{index: 3, connected: true}],
        // Providers that never answer: each lookup ends at its time limit with nobody.
        findProviders: async () => (lookups++, await new Promise((r) => setTimeout(r, LOOKUP_MS)), []),
      },
      series: {views: {lastChunkSlot: 0}},
      currentSlot: () => 100,
      logger: createLogger("error", "test"),
      fetch: async (_p: ClusterPeer, req: FetchRequest) => (asked.push(req), {added: 0, retryable: 0}),
    } as unknown as CatchUpOptions;
    const catchUp = new CatchUp(o);
    catchUp.start(0);
    await waitFor("lookups started", async () => lookups > 0, 5_000, 10);
    await catchUp.stop();
    // The gap is 100 slots; stopping lets only the lookups in flight (4 at a time) end.
    assert.ok(lookups < 50, `${lookups} of the gap's 100 lookups ran before the stop returned`);
    assert.deepEqual(asked, [], "nothing fetched after the stop");
  });

  it("asks again when a fetch met refusals a later one may pass, and reports what the tries added in all", async () => {
    const peer = {index: 3, connected: true} as ClusterPeer;
    const asked: FetchRequest[] = [];
    // The first answer: 19 chunks stored, 1 refused over the fetch budget; the second stores that one.
    const answers = [
      {added: 19, retryable: 1},
      {added: 1, retryable: 0},
    ];
    const o = {
      lock: {lock_hash: "0x00"},
      dht: {routingTableSize: () => 1, connected: () => [peer], findProviders: async () => []},
      series: {views: {lastChunkSlot: 10}},
      currentSlot: () => 12,
      logger: createLogger("error", "test"),
      fetch: async (_p: ClusterPeer, req: FetchRequest) => (
        asked.push(req),
        answers[asked.length - 1] ?? {added: 0, retryable: 0}
      ),
    } as unknown as CatchUpOptions;
    const catchUp = new CatchUp(o);
    try {
      catchUp.start(0);
      await waitFor("the range fetched again", async () => asked.length >= 2 && catchUp.last?.added === 20, 10_000, 50);
      assert.deepEqual(asked[1], asked[0], "the same range, still open");
      assert.equal(catchUp.last?.added, 20);
      // Done now: a later catch-up starts where this one ended.
      await catchUp.run();
      assert.deepEqual(asked[2], {fromSlot: 12, toSlot: 12, durableOnly: true});
    } finally {
      await catchUp.stop();
    }
  });
});
