import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import {deal} from "../../../src/cluster/dkg/feldman.js";
import {type DkgMessage, dealDigest, shareDigest} from "../../../src/cluster/dkg/messages.js";
import {DkgError, type DkgResult} from "../../../src/cluster/dkg/outcome.js";
import {decodeWireMessage, encodeWireMessage} from "../../../src/cluster/dkg/wire.js";
import {toHex} from "../../../src/hotpath/bytes.js";
import {type DkgNet, runDkgNet} from "../../helpers/dkgNet.js";
import {assertAgree, assertThresholdKeys, resultsOf} from "../../helpers/dkgAsserts.js";

const otherScalar = () => SecretKey.fromKeygen(randomBytes(32)).toBytes();

/** Dealer `dealer` gives operator `victim` a wrong first share, signed by the dealer itself (a cheating dealer). */
function badShare(dealer: number, victim: number) {
  return (m: DkgMessage, to: number, net: DkgNet): DkgMessage => {
    if (m.kind !== "share" || m.from !== dealer || to !== victim) return m;
    const shares = [otherScalar(), ...m.shares.slice(1)];
    const signature = net.auths[dealer - 1]?.sign(shareDigest(net.definitionHash, dealer, victim, shares));
    return {...m, shares, signature: signature as Uint8Array};
  };
}

const drop = (kind: DkgMessage["kind"], from: number) => (m: DkgMessage) =>
  m.kind === kind && m.from === from ? null : m;

function chain(...steps: ((m: DkgMessage, to: number, net: DkgNet) => DkgMessage | null)[]) {
  return (m: DkgMessage, to: number, net: DkgNet): DkgMessage | null =>
    steps.reduce<DkgMessage | null>((acc, step) => (acc === null ? null : step(acc, to, net)), m);
}

function errorOf(net: DkgNet, operator: number): DkgError {
  const o = net.outcomes[operator - 1];
  assert.ok(o instanceof DkgError, `operator ${operator} was expected to stop`);
  return o;
}

describe("DKG ceremony (joint Feldman, in memory)", () => {
  it("3-of-4 for 3 validators: every operator holds the same keys, and any 3 shares sign for the group key", async () => {
    const net = await runDkgNet({operators: 4, threshold: 3, validators: 3});
    const results = resultsOf(net, [1, 2, 3, 4]);
    assertAgree(results);
    for (const r of results.values()) {
      assert.deepEqual(r.qualified, [1, 2, 3, 4]);
      assert.deepEqual([r.disqualified, r.answered, r.faults], [[], [], []]);
    }
    const keys = (results.get(1) as DkgResult).validators.map((v) => toHex(v.groupPubkey));
    assert.equal(new Set(keys).size, 3, "each validator has its own key");
    assertThresholdKeys(results, 3);
  });

  it("every message survives the wire codec: a ceremony whose messages all cross it ends as one without", async () => {
    const wire = (m: DkgMessage): DkgMessage => {
      const decoded = decodeWireMessage(encodeWireMessage(m));
      assert.deepEqual(encodeWireMessage(decoded), encodeWireMessage(m));
      return decoded as DkgMessage;
    };
    const net = await runDkgNet({operators: 4, threshold: 3, validators: 2, intercept: chain(badShare(2, 3), wire)});
    const results = resultsOf(net, [1, 2, 3, 4]);
    assertAgree(results);
    for (const r of results.values()) {
      assert.deepEqual(r.answered, [{dealer: 2, complainer: 3, reason: "bad_share"}]);
      assert.deepEqual(r.faults, []);
    }
    assertThresholdKeys(results, 3);
  });

  it("a dealer that sent a bad share and reveals the right one stays, and the complainer's share works", async () => {
    const net = await runDkgNet({operators: 4, threshold: 3, validators: 2, intercept: badShare(2, 3)});
    const results = resultsOf(net, [1, 2, 3, 4]);
    assertAgree(results);
    for (const r of results.values()) {
      assert.deepEqual(r.qualified, [1, 2, 3, 4]);
      assert.deepEqual(r.answered, [{dealer: 2, complainer: 3, reason: "bad_share"}]);
    }
    assertThresholdKeys(results, 3);
  });

  it("a dealer that does not answer a complaint is disqualified and named; the rest finish with its share left out", async () => {
    const net = await runDkgNet({
      operators: 4,
      threshold: 3,
      validators: 2,
      intercept: chain(badShare(2, 3), drop("answer", 2)),
    });
    const honest = resultsOf(net, [1, 3, 4]);
    assertAgree(honest);
    for (const r of honest.values()) {
      assert.deepEqual(r.qualified, [1, 3, 4]);
      assert.deepEqual(
        r.disqualified.map((d) => [d.dealer, d.reason, d.complainers]),
        [[2, "unanswered_complaint", [3]]],
      );
    }
    assertThresholdKeys(honest, 3);
  });

  it("a dealer whose answer reveals a share that fails its commitments is disqualified for a bad answer", async () => {
    const lie = (m: DkgMessage): DkgMessage =>
      m.kind === "answer" && m.from === 1
        ? {...m, reveals: m.reveals.map((r) => ({...r, shares: r.shares.map(otherScalar)}))}
        : m;
    const net = await runDkgNet({operators: 4, threshold: 3, validators: 1, intercept: chain(badShare(1, 4), lie)});
    const honest = resultsOf(net, [2, 3, 4]);
    assertAgree(honest);
    for (const r of honest.values()) {
      assert.deepEqual(
        r.disqualified.map((d) => [d.dealer, d.reason, d.complainers]),
        [[1, "bad_answer", [4]]],
      );
    }
    assertThresholdKeys(honest, 3);
  });

  it("a dealer that sends one operator other commitments is caught by the echo and disqualified by everyone", async () => {
    // Dealer 1 deals a second, self-consistent polynomial to operator 4 only, signing both deals.
    let other: {commitments: Uint8Array[][]; shares: Uint8Array[]} | undefined;
    const equivocate = (m: DkgMessage, to: number, net: DkgNet): DkgMessage => {
      if (m.from !== 1 || to !== 4 || (m.kind !== "deal" && m.kind !== "share")) return m;
      if (other === undefined) {
        const dealt = [0, 1].map(() => deal(3, 4, (b) => new Uint8Array(randomBytes(b))));
        other = {commitments: dealt.map((d) => d.commitments), shares: dealt.map((d) => d.shares[3] as Uint8Array)};
      }
      const auth = net.auths[0] as DkgNet["auths"][number];
      if (m.kind === "deal") {
        const signature = auth.sign(dealDigest(net.definitionHash, 1, other.commitments));
        return {...m, commitments: other.commitments, signature};
      }
      return {...m, shares: other.shares, signature: auth.sign(shareDigest(net.definitionHash, 1, 4, other.shares))};
    };
    const net = await runDkgNet({operators: 4, threshold: 3, validators: 2, intercept: equivocate});
    const honest = resultsOf(net, [2, 3, 4]);
    assertAgree(honest);
    for (const r of honest.values()) {
      assert.deepEqual(r.qualified, [2, 3, 4]);
      assert.deepEqual(
        r.disqualified.map((d) => [d.dealer, d.reason]),
        [[1, "equivocated"]],
      );
    }
    assertThresholdKeys(honest, 3);
  });

  it("fewer qualified dealers than the threshold abort the ceremony, naming the disqualified and why", async () => {
    const net = await runDkgNet({
      operators: 4,
      threshold: 3,
      validators: 1,
      intercept: chain(badShare(1, 3), badShare(2, 4), drop("answer", 1), drop("answer", 2)),
    });
    for (const i of [3, 4]) {
      const e = errorOf(net, i);
      assert.equal(e.type.code, "DKG_TOO_FEW_QUALIFIED");
      assert.match(e.message, /only 2 dealer\(s\) qualified \(3, 4\), fewer than the threshold 3/);
      assert.match(e.message, /operator 1 disqualified \(unanswered_complaint/);
      assert.match(e.message, /operator 2 disqualified \(unanswered_complaint/);
    }
  });

  it("5-of-7: a dealer cheating two operators and silent when accused is named; six finish; three such abort", async () => {
    const net = await runDkgNet({
      operators: 7,
      threshold: 5,
      validators: 2,
      intercept: chain(badShare(3, 1), badShare(3, 6), drop("answer", 3)),
    });
    const honest = resultsOf(net, [1, 2, 4, 5, 6, 7]);
    assertAgree(honest);
    for (const r of honest.values()) {
      assert.deepEqual(
        r.disqualified.map((d) => [d.dealer, d.reason, d.complainers]),
        [[3, "unanswered_complaint", [1, 6]]],
      );
    }
    assertThresholdKeys(honest, 5);
    const three = await runDkgNet({
      operators: 7,
      threshold: 5,
      validators: 1,
      intercept: chain(...[2, 4, 6].flatMap((d) => [badShare(d, 7), drop("answer", d)])),
    });
    for (const i of [1, 3, 5, 7]) {
      const e = errorOf(three, i);
      assert.equal(e.type.code, "DKG_TOO_FEW_QUALIFIED");
      assert.match(e.message, /only 4 dealer\(s\) qualified \(1, 3, 5, 7\), fewer than the threshold 5/);
    }
  });

  it("an operator holding another definition stops every ceremony at the start, named with its hash", async () => {
    const other = new Uint8Array(randomBytes(32));
    const shared = new Uint8Array(randomBytes(32));
    const net = await runDkgNet({
      operators: 4,
      threshold: 3,
      validators: 1,
      definitionHashes: [shared, shared, shared, other],
    });
    for (const i of [1, 2, 3]) {
      const e = errorOf(net, i);
      assert.equal(e.type.code, "DKG_DEFINITION_MISMATCH");
      assert.deepEqual(e.type.code === "DKG_DEFINITION_MISMATCH" && e.type.operators, [
        {operator: 4, definitionHash: toHex(other)},
      ]);
    }
    assert.equal(errorOf(net, 4).type.code, "DKG_DEFINITION_MISMATCH");
  });

  it("an operator that never says hello is named, and nobody deals", async () => {
    const net = await runDkgNet({operators: 4, threshold: 3, validators: 1, intercept: drop("hello", 2)});
    for (const i of [1, 3, 4]) {
      const e = errorOf(net, i);
      assert.deepEqual(e.type, {code: "DKG_OPERATORS_MISSING", round: "hello", operators: [2]});
    }
  });

  it("an echo of a digest the dealer never signed is named as forged and changes nothing", async () => {
    const forge = (m: DkgMessage): DkgMessage =>
      m.kind === "echo" && m.from === 3
        ? {...m, deals: m.deals.map((d) => (d === null ? d : {...d, digest: new Uint8Array(randomBytes(32))}))}
        : m;
    const net = await runDkgNet({operators: 4, threshold: 3, validators: 1, intercept: forge});
    const honest = resultsOf(net, [1, 2, 4]);
    assertAgree(honest);
    for (const r of honest.values()) {
      assert.deepEqual(r.qualified, [1, 2, 3, 4]);
      assert.ok(r.faults.length > 0 && r.faults.every((f) => f.operator === 3 && f.reason === "forged_echo"));
    }
    assertThresholdKeys(resultsOf(net, [1, 2, 3, 4]), 3);
  });
});
