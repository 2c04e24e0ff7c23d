import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {BeaconError} from "../../../../src/roles/evm/beacon/errors.js";
import {DutyTimers} from "../../../../src/roles/evm/duties/dutyClock.js";
import {readFromPool} from "../../../../src/roles/evm/duties/poolRead.js";

const refused = () => new BeaconError({code: "BEACON_REFUSED", url: "bn", route: "aggregate", status: 404, reason: "no attestations yet"}, "refused");
const unreachable = () => new BeaconError({code: "BEACON_UNREACHABLE", urls: ["bn"], reason: "ECONNREFUSED"}, "unreachable");

describe("readFromPool", () => {
  it("asks again while the beacon node has nothing yet, and returns what it builds a moment later", async () => {
    const timers = new DutyTimers();
    let calls = 0;
    const value = await readFromPool(async () => (++calls < 3 ? Promise.reject(refused()) : "aggregate"), {everyMs: 10, untilMs: Date.now() + 1000, timers});
    assert.equal(value, "aggregate");
    assert.equal(calls, 3);
  });

  it("gives up with the refusal when the next try would be past its time", async () => {
    const timers = new DutyTimers();
    let calls = 0;
    const t0 = Date.now();
    await assert.rejects(
      readFromPool(async () => {
        calls++;
        throw refused();
      }, {everyMs: 20, untilMs: t0 + 70, timers}),
      (e) => e instanceof BeaconError && e.code === "BEACON_REFUSED",
    );
    assert.ok(calls >= 2 && calls <= 4, `tried ${calls} times in 70 ms at 20 ms intervals`);
  });

  it("does not retry a node that could not be reached (the beacon set already tried every node)", async () => {
    const timers = new DutyTimers();
    let calls = 0;
    await assert.rejects(
      readFromPool(async () => {
        calls++;
        throw unreachable();
      }, {everyMs: 10, untilMs: Date.now() + 1000, timers}),
      (e) => e instanceof BeaconError && e.code === "BEACON_UNREACHABLE",
    );
    assert.equal(calls, 1);
  });
});
