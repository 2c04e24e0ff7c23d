import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {describe, it} from "node:test";
import {type Attempt, AttemptFilter, nextAttempt} from "../../../src/cluster/dkg/attempts.js";

const at = (startedAt: number): Attempt => ({session: new Uint8Array(randomBytes(16)), startedAt});

describe("attempts: telling a participant's current run from its earlier ones", () => {
  it("a restart after dealing restarts this participant; the others' new runs then count without another restart", () => {
    const f = new AttemptFilter();
    const [a1, b1, x1] = [at(100), at(200), at(300)];
    for (const [from, a] of [
      [1, a1],
      [2, b1],
      [4, x1],
    ] as const)
      assert.equal(f.judge(from, a, false), "deliver");
    // Operator 4 was killed and started again: its new hello arrives after this participant dealt.
    const x2 = at(900);
    assert.equal(f.judge(4, x2, false), "restart");
    f.restart();
    assert.equal(f.judge(4, x2, true), "deliver", "the restarted run is operator 4's current one");
    // Operators 1 and 2 start over too: their new runs are theirs, not a second restart.
    const [a2, b2] = [at(150), at(250)];
    assert.equal(f.judge(1, a2, true), "deliver");
    assert.equal(f.judge(2, b2, false), "deliver");
    // Late messages of the runs left behind are dropped, whenever they land.
    assert.equal(f.judge(1, a1, false), "stale");
    assert.equal(f.judge(4, x1, false), "stale");
  });

  it("a newer run during the hello round replaces the older one; an older run after a newer one is stale", () => {
    const f = new AttemptFilter();
    const [old, fresh] = [at(10), at(20)];
    assert.equal(f.judge(3, old, true), "deliver");
    assert.equal(f.judge(3, fresh, true), "replaced");
    assert.equal(f.judge(3, old, true), "stale");
    assert.equal(f.judge(3, fresh, false), "deliver");
  });

  it("a participant's own attempts are strictly later, even within a millisecond", () => {
    const a = nextAttempt((n) => new Uint8Array(randomBytes(n)));
    const b = nextAttempt((n) => new Uint8Array(randomBytes(n)), {...a, startedAt: a.startedAt + 10_000});
    assert.ok(b.startedAt > a.startedAt + 10_000);
  });
});
