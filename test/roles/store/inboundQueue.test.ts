import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {setFlagsFromString} from "node:v8";
import {runInNewContext} from "node:vm";
import {InboundQueue} from "../../../src/roles/store/inboundQueue.js";

/** A full garbage collection, for a test of what the queue still references (--expose-gc for this isolate). */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

describe("inbound queue", () => {
  it("keeps no reference to an item once it has been served, drained or not", async () => {
    const q = new InboundQueue<{bytes: Uint8Array}>(10_000);
    const served: WeakRef<object>[] = [];
    // Two in, one out: the queue never drains, as under a steady backlog; then it drains.
    for (let i = 0; i < 600; i++) {
      q.push({peer: 1 + (i % 3), priority: 0.5, item: {bytes: new Uint8Array(1024)}});
      if (i % 2 === 1) served.push(new WeakRef(q.shift()?.item as object));
    }
    for (let x = q.shift(); x; x = q.shift()) served.push(new WeakRef(x.item));
    assert.equal(served.length, 600);
    // WeakRef targets live until the end of the job that made them.
    await new Promise((r) => setImmediate(r));
    collectGarbage();
    const alive = served.filter((w) => w.deref() !== undefined).length;
    assert.equal(alive, 0, `${alive} served items still referenced by the queue`);
  });

  it("serves the highest priority first, and peers in turn within a priority", () => {
    const q = new InboundQueue<string>(100);
    for (let i = 0; i < 5; i++) q.push({peer: 1, priority: 0.5, item: `flood${i}`});
    q.push({peer: 2, priority: 0.5, item: "victim"});
    q.push({peer: 3, priority: 1, item: "urgent"});
    assert.equal(q.shift()?.item, "urgent");
    const next = [q.shift()?.item, q.shift()?.item];
    assert.ok(next.includes("victim"), `victim waited behind the flood: ${next.join(",")}`);
    assert.equal(q.length, 4);
  });

  it("when full, drops the lowest priority first and, within it, the busiest peer's newest", () => {
    const q = new InboundQueue<string>(4);
    q.push({peer: 1, priority: 0.5, item: "f0"});
    q.push({peer: 1, priority: 0.5, item: "f1"});
    q.push({peer: 1, priority: 0.5, item: "f2"});
    q.push({peer: 1, priority: 0.1, item: "low"});
    assert.equal(q.push({peer: 2, priority: 0.5, item: "victim"})[0]?.item, "low");
    assert.equal(q.push({peer: 2, priority: 0.55, item: "victim2"})[0]?.item, "f2");
    assert.equal(q.push({peer: 1, priority: 0.5, item: "f3"})[0]?.item, "f3", "the flooder's own newest is refused");
    assert.equal(q.push({peer: 1, priority: 0.05, item: "lower"})[0]?.item, "lower");
    const out: string[] = [];
    for (let x = q.shift(); x; x = q.shift()) out.push(x.item);
    assert.deepEqual(out.sort(), ["f0", "f1", "victim", "victim2"]);
  });
});

describe("inbound queue bounded by bytes", () => {
  it("drops the busiest peer's newest bytes once the byte bound is passed, and keeps the current duty's small chunk", () => {
    const q = new InboundQueue<string>(4096, 3_000_000);
    const dropped: string[] = [];
    for (let i = 0; i < 5; i++)
      dropped.push(...q.push({peer: 4, priority: 1, bytes: 1_000_000, item: `flood${i}`}).map((d) => d.item));
    dropped.push(...q.push({peer: 2, priority: 1, bytes: 500, item: "duty"}).map((d) => d.item));
    assert.ok(q.bytes <= 3_000_000, `${q.bytes} bytes queued`);
    assert.deepEqual(dropped, ["flood3", "flood4", "flood2"]);
    const out: string[] = [];
    for (let x = q.shift(); x; x = q.shift()) out.push(x.item);
    assert.ok(out.includes("duty"), `the duty chunk lost its place: ${out.join(",")}`);
    assert.equal(q.bytes, 0);
  });
});
