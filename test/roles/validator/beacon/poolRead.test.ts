import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {BeaconError} from "../../../../src/roles/validator/beacon/errors.js";
import {DutyTimers} from "../../../../src/roles/validator/schedule/dutyClock.js";
import {readFromPool} from "../../../../src/roles/validator/beacon/poolRead.js";
import {poolReadFailure} from "../../../../src/roles/validator/tracking/outcome.js";

const refused = () =>
  new BeaconError(
    {code: "BEACON_REFUSED", url: "bn", route: "aggregate", status: 404, reason: "no attestations yet"},
    "refused",
  );
const unreachable = () =>
  new BeaconError({code: "BEACON_UNREACHABLE", urls: ["bn"], reason: "ECONNREFUSED"}, "unreachable");

/** Lets the reader's promise callbacks run between two ticks of the mocked clock. */
const settle = () => new Promise((r) => setImmediate(r));

describe("readFromPool", () => {
  // The clock is mocked: the retry schedule is checked exactly, whatever else keeps the machine busy.
  it("asks again while the beacon node has nothing yet, and returns what it builds a moment later", async (t) => {
    t.mock.timers.enable({apis: ["setTimeout", "Date"], now: 0});
    const timers = new DutyTimers();
    const calls: number[] = [];
    const reading = readFromPool(async () => (calls.push(Date.now()) < 3 ? Promise.reject(refused()) : "aggregate"), {
      everyMs: 10,
      untilMs: 1000,
      timers,
    });
    for (let i = 0; i < 5; i++) {
      await settle();
      t.mock.timers.tick(10);
    }
    assert.equal(await reading, "aggregate");
    assert.deepEqual(calls, [0, 10, 20]);
  });

  it("gives up with the refusal when the next try would be past its time", async (t) => {
    t.mock.timers.enable({apis: ["setTimeout", "Date"], now: 0});
    const timers = new DutyTimers();
    const calls: number[] = [];
    const reading = readFromPool(
      async () => {
        calls.push(Date.now());
        throw refused();
      },
      {everyMs: 20, untilMs: 70, timers},
    );
    reading.catch(() => undefined);
    for (let i = 0; i < 6; i++) {
      await settle();
      t.mock.timers.tick(20);
    }
    await assert.rejects(reading, (e) => e instanceof BeaconError && e.code === "BEACON_REFUSED");
    // A try at 80 ms would be past 70 ms: the last one is at 60.
    assert.deepEqual(calls, [0, 20, 40, 60]);
  });

  it("does not retry a node that could not be reached (the beacon set already tried every node)", async () => {
    const timers = new DutyTimers();
    let calls = 0;
    await assert.rejects(
      readFromPool(
        async () => {
          calls++;
          throw unreachable();
        },
        {everyMs: 10, untilMs: Date.now() + 1000, timers},
      ),
      (e) => e instanceof BeaconError && e.code === "BEACON_UNREACHABLE",
    );
    assert.equal(calls, 1);
  });
});

describe("poolReadFailure", () => {
  it("names an answer of 'nothing in the pool' pool_empty, and anything else the beacon node's", () => {
    assert.equal(poolReadFailure(refused()), "pool_empty");
    assert.equal(poolReadFailure(unreachable()), "beacon_unavailable");
    assert.equal(
      poolReadFailure(
        new BeaconError({code: "BEACON_BAD_RESPONSE", url: "bn", route: "aggregate", reason: "not JSON"}, "bad"),
      ),
      "beacon_unavailable",
    );
    assert.equal(poolReadFailure(new Error("socket hang up")), "beacon_unavailable");
  });
});
