import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {setTimeout as sleep} from "node:timers/promises";
import {describe, it} from "node:test";
import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";
import {FaultyProxy, type ProxyMode} from "../../../../helpers/faultyProxy.js";

const MODES: ProxyMode[] = ["timeout", "error500", "garbage", "syncing"];
/** Each fault lasts two slots; three healthy slots follow (a request hung in the fault times out 2 s later). */
const FAULT_SLOTS = 2;
const HEALTHY_SLOTS = 3;
/**
 * The first fault's slot. Windows at 4-5, 9-10, 14-15 and 19-20 leave every epoch's first slots healthy, where the
 * nodes ask for that epoch's duties: a fault there is a duty fetch failure (its own test), not this one.
 */
const FIRST = 4;
const windows = MODES.map((mode, k) => {
  const from = FIRST + k * (FAULT_SLOTS + HEALTHY_SLOTS);
  return {mode, from, to: from + FAULT_SLOTS - 1};
});
const LAST_SLOT = (windows.at(-1)?.to as number) + HEALTHY_SLOTS;
/** One attester duty every slot, each validator's once an epoch (twice would be a slashable double vote). */
const DUTIES = Array.from({length: LAST_SLOT}, (_, k) => ({slot: k + 1, validatorIndex: (k + 1) % SLOTS_PER_EPOCH}));

/**
 * Every node's beacon node goes bad, one way after another (times out, answers 500, answers garbage, says it is
 * syncing), each for two slots, then recovers: real HTTP faults from a proxy in front of each node's scripted
 * beacon node. Duties in those slots fail with a clean reason, nothing crashes, and duties succeed again once the
 * beacon node answers.
 */
describe("attester duty when the beacon node fails and recovers", {timeout: 90_000}, () => {
  it("fails the duties of each faulty window with beacon_unavailable and submits again after it", async (t) => {
    const proxies: FaultyProxy[] = [];
    t.after(() => Promise.all(proxies.map((p) => p.stop())));
    const c = await DutyCluster.start(t, {
      validators: SLOTS_PER_EPOCH,
      script: (b) => b.attesterDuties.push(...DUTIES.map((d) => ({...d, committeeLength: 2048}))),
      via: async (_i, url) => {
        const proxy = new FaultyProxy(url);
        await proxy.start();
        proxies.push(proxy);
        return proxy.url;
      },
    });
    const setMode = (mode: ProxyMode) => proxies.forEach((p) => (p.mode = mode));
    for (const w of windows) {
      await sleep(Math.max(0, c.beacon.slotStartMs(w.from) - Date.now()));
      setMode(w.mode);
      await sleep(Math.max(0, c.beacon.slotStartMs(w.to + 1) - Date.now()));
      setMode("pass");
    }
    await c.awaitResults("attester", DUTIES, LAST_SLOT + 2);

    const show = (from: number, to: number) =>
      c.results
        .filter((r) => r.duty === "attester" && r.slot >= from && r.slot <= to)
        .map((r) => `${r.slot}/n${r.node}:${r.status}:${r.reason ?? ""}`)
        .join(" ");
    for (const w of windows) {
      for (let slot = w.from; slot <= w.to; slot++) {
        const inWindow = c.resultsOf("attester", slot);
        assert.equal(inWindow.length, 4, `${w.mode} slot ${slot}: ${show(w.from, w.to)}`);
        assert.ok(
          inWindow.every(
            (r) => r.status === "failed" && r.reason === "beacon_unavailable" && (r.detail ?? "").length > 0,
          ),
          `${w.mode}: ${JSON.stringify(inWindow.slice(0, 2))}`,
        );
      }
      // The last healthy slot after the window (the one before the next window opens): submitted by every node.
      const slot = w.to + HEALTHY_SLOTS;
      const afterwards = c.resultsOf("attester", slot);
      assert.ok(
        afterwards.length === 4 && afterwards.every((r) => r.status === "submitted"),
        `${w.mode}: slot ${slot} after the window: ${show(w.to + 1, slot)}`,
      );
    }
    assert.ok(
      proxies.every((p) => p.passed > 0),
      "every node reached its beacon node through its proxy",
    );
  });
});
