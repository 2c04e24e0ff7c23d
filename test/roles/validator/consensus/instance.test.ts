import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {skipUnreachableLeaders} from "../../../../src/roles/validator/consensus/driver.js";
import {QbftInstance} from "../../../../src/roles/validator/consensus/instance.js";
import {qbftLeader, qbftQuorum} from "../../../../src/roles/validator/consensus/quorum.js";
import type {SignedQbft} from "../../../../src/roles/validator/consensus/types.js";
import {deadlines, fakeCrypto, simulate, text} from "./sim.js";

const inputOf = (i: number) => text(`value-of-${i}`);

function assertAgreement(r: ReturnType<typeof simulate>, expectDeciders: number): string {
  const values = new Set([...r.decisions.values()].map((d) => d.value));
  assert.equal(values.size, 1, `agreement: decided ${[...values].join(" / ")}`);
  assert.equal(r.decisions.size, expectDeciders, `termination: ${r.decisions.size} of ${expectDeciders} decided`);
  return [...values][0] as string;
}

describe("QBFT instance", () => {
  it("quorum and leader follow DESIGN.md", () => {
    assert.deepEqual([3, 4, 5, 6, 7, 10].map(qbftQuorum), [2, 3, 4, 4, 5, 7]);
    assert.equal(qbftLeader(10, 1, 1, 4), ((10 + 1 + 1) % 4) + 1);
  });

  it("all honest: every node decides the round-1 leader's value in round 1", () => {
    const r = simulate({n: 4, seed: 1, inputs: inputOf});
    assert.equal(assertAgreement(r, 4), "value-of-2", "leader of round 1 is (1 mod 4) + 1 = 2");
    assert.ok([...r.decisions.values()].every((d) => d.round === 1));
    assert.deepEqual(r.rejected, []);
  });

  it("a crashed round-1 leader: the others change round and decide the round-2 leader's value", () => {
    const r = simulate({n: 4, seed: 2, inputs: inputOf, crashed: [2]});
    assert.equal(assertAgreement(r, 3), "value-of-3");
    assert.ok([...r.decisions.values()].every((d) => d.round === 2));
  });

  it("a round-1 leader the others know is unreachable: they skip its round and decide before it would have ended", () => {
    const r = simulate({n: 4, seed: 2, inputs: inputOf, crashed: [2], crashSeen: true});
    assert.equal(assertAgreement(r, 3), "value-of-3");
    assert.ok(
      [...r.decisions.values()].every((d) => d.round === 2 && d.at < 100),
      JSON.stringify([...r.decisions]),
    );
    const waited = simulate({n: 4, seed: 2, inputs: inputOf, crashed: [2]});
    assert.ok(
      [...waited.decisions.values()].every((d) => d.at >= 100),
      "without knowing, round 1 is waited out",
    );
  });

  it("the skipped rounds' deadlines: a round led by an unreachable operator ends with the round before it", () => {
    const leader = (r: number) => ((r - 1) % 4) + 1;
    const base = (r: number) => 1000 + 100 * r;
    const at = (down: number[], self = 3) =>
      [1, 2, 3, 4, 5, 6, 7].map(
        skipUnreachableLeaders({leader, roundDeadline: base}, {n: 4, self}, (p) => !down.includes(p)),
      );
    assert.deepEqual(at([]), [1100, 1200, 1300, 1400, 1500, 1600, 1700]);
    assert.deepEqual(at([1]), [1000, 1200, 1300, 1400, 1400, 1600, 1700]);
    assert.deepEqual(at([1, 2]), [1000, 1000, 1300, 1400, 1400, 1400, 1700]);
    // Everyone else gone: only this node's own rounds last, so the rounds still advance and end.
    assert.deepEqual(at([1, 2, 4]), [1000, 1000, 1300, 1300, 1300, 1300, 1700]);
  });

  it("a value prepared in round 1 is locked: the next leader re-proposes it, not its own", () => {
    // Every COMMIT of round 1 is lost, so nobody decides there, but a quorum prepared value-of-2.
    const r = simulate({n: 4, seed: 3, inputs: inputOf, drop: (_r, _f, _t, m) => m.type === "COMMIT" && m.round === 1});
    assert.equal(assertAgreement(r, 4), "value-of-2");
    assert.ok([...r.decisions.values()].every((d) => d.round === 2));
  });

  it("a node that starts after round 1 timed out joins the running instance", () => {
    const r = simulate({n: 4, seed: 4, inputs: inputOf, crashed: [], startAt: (i) => (i === 3 ? 250 : 0)});
    assertAgreement(r, 4);
  });

  it("a leader whose proposal honest nodes judge invalid (a lying beacon node) is outvoted", () => {
    // Node 2 leads round 1 with a value only it believes; the others refuse it and decide round 2's value.
    const r = simulate({
      n: 4,
      seed: 5,
      inputs: (i) => (i === 2 ? text("lie-of-2") : inputOf(i)),
      isValid: (node, v) => node === 2 || !Buffer.from(v).toString().startsWith("lie"),
    });
    assert.equal(assertAgreement(r, 4), "value-of-3");
    assert.ok(r.rejected.filter((x) => x.reason === "invalid proposed value").length >= 3);
  });

  it("an equivocating leader cannot split the cluster", () => {
    // Leader 2 signs two different proposals and sends each to half of the nodes.
    const crypto2 = fakeCrypto(2);
    const tamper = (from: number, to: number, s: SignedQbft): SignedQbft => {
      if (from !== 2 || s.msg.type !== "PRE_PREPARE" || s.msg.round !== 1 || to % 2 === 1) return s;
      const value = text("evil-twin");
      const msg = {...s.msg, value, valueHash: crypto2.hash(value)};
      return {msg, sig: crypto2.sign(msg), justification: []};
    };
    for (let seed = 1; seed <= 20; seed++) {
      const r = simulate({n: 4, seed, inputs: inputOf, tamper, delay: (rand) => 1 + rand() * 30});
      assertAgreement(r, 4);
    }
  });

  it("random delays and 30% message loss for 2 s, then a good network: agreement and termination for 150 seeds", () => {
    for (let seed = 1; seed <= 150; seed++) {
      const n = [4, 4, 7, 10][seed % 4] as number;
      const crashed = seed % 5 === 0 ? [1 + (seed % n)] : [];
      const r = simulate({
        n,
        seed,
        inputs: inputOf,
        crashed,
        delay: (rand) => 1 + rand() * 80,
        drop: (rand, _f, _t, _m, now) => now < 2000 && rand() < 0.3,
      });
      const v = assertAgreement(r, n - crashed.length);
      assert.match(v, /^value-of-\d+$/, "validity: the decision is some node's input");
    }
  });

  it("refuses forged, misplaced and malformed messages, saying why", () => {
    const inst = new QbftInstance({
      instance: "attester/7",
      n: 4,
      self: 1,
      leader: (r) => (r % 4) + 1,
      roundDeadline: deadlines(100, 50),
      isValid: (v) => v.length > 0,
      crypto: fakeCrypto(1),
    });
    inst.start(inputOf(1), 0);
    const c3 = fakeCrypto(3);
    const sign3 = (m: SignedQbft["msg"]) => ({msg: m, sig: c3.sign(m), justification: []});
    const prep = {
      instance: "attester/7",
      type: "PREPARE" as const,
      round: 1,
      sender: 3,
      valueHash: c3.hash(text("x")),
      value: null,
      preparedRound: 0,
    };
    const cases: [SignedQbft, string][] = [
      [{...sign3(prep), sig: new Uint8Array(32)}, "bad signature"],
      [sign3({...prep, sender: 9}), "unknown sender"],
      [sign3({...prep, instance: "attester/8"}), "wrong instance"],
      [sign3({...prep, round: 100}), "round too far ahead"],
      [sign3({...prep, type: "PRE_PREPARE", value: text("x")}), "pre-prepare from a non-leader"],
      [sign3({...prep, type: "COMMIT", value: text("not x")}), "value does not match its hash"],
      [
        sign3({...prep, type: "ROUND_CHANGE", round: 2, preparedRound: 1, value: text("x")}),
        "unjustified prepared value",
      ],
    ];
    for (const [msg, reason] of cases)
      assert.deepEqual(
        inst.receive(msg, 1).rejected.map((x) => x.reason),
        [reason],
      );
    assert.deepEqual(inst.receive(sign3(prep), 1).rejected, []);
    assert.deepEqual(
      inst.receive(sign3({...prep, valueHash: c3.hash(text("y"))}), 1).rejected.map((x) => x.reason),
      ["equivocation"],
    );
    const leaderPp = {...prep, type: "PRE_PREPARE" as const, sender: 2, round: 2, value: text("x")};
    const c2 = fakeCrypto(2);
    assert.deepEqual(
      inst.receive({msg: leaderPp, sig: c2.sign(leaderPp), justification: []}, 1).rejected.map((x) => x.reason),
      ["pre-prepare from a non-leader"],
    );
    const pp3 = {...leaderPp, sender: 3};
    assert.deepEqual(
      inst.receive({msg: pp3, sig: c3.sign(pp3), justification: []}, 1).rejected.map((x) => x.reason),
      ["unjustified pre-prepare"],
    );
  });
});
