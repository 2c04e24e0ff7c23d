import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {ssz} from "@lodestar/types";
import {toHex} from "../../../../src/hotpath/bytes.js";
import {qbftLeader} from "../../../../src/roles/validator/consensus/quorum.js";
import {DUTY_TYPES} from "../../../../src/roles/validator/dutyTypes.js";
import {HeadGuard} from "../../../../src/roles/validator/verifiedChain/headGuard.js";
import {DutyCluster} from "../../../helpers/dutyHarness/dutyCluster.js";
import {VerdictTwin} from "../../../helpers/verdictTwin.js";

const root = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

describe("--verify enforce on peers' block views (eth_block chunks) while a node's own verification lags", () => {
  it("a head threshold peers found valid is signable; fewer is not, and says how many views it had", () => {
    const twin = new VerdictTwin();
    const accepted: {root: string; peers: number[]}[] = [];
    const guard = new HeadGuard(twin, {threshold: 3, onPeerAccepted: (r, peers) => accepted.push({root: r, peers})});
    twin.validAt(root(7), 7, [2, 3]);
    const refusal = guard.refusal(root(7));
    assert.equal(refusal?.reason, "head_unverified");
    assert.match(refusal?.detail ?? "", /2 of the 3 peers' valid views/);
    // A peer that says invalid, or unverified, does not count.
    twin.peers.record(4, {slot: 7, root: root(7), parentRoot: root(6), verdict: "invalid", reason: "bad_state_root"});
    assert.equal(guard.refusal(root(7))?.reason, "head_unverified");
    twin.validAt(root(7), 7, [4]);
    assert.equal(guard.refusal(root(7)), null);
    assert.equal(guard.refusal(root(7)), null);
    assert.deepEqual(accepted, [{root: root(7), peers: [2, 3, 4]}], "told once per head");
  });

  it("a head this node found invalid is refused whatever its peers say", () => {
    const twin = new VerdictTwin();
    const guard = new HeadGuard(twin, {threshold: 3});
    twin.invalid(root(8), 8);
    twin.validAt(root(8), 8, [2, 3, 4]);
    assert.equal(guard.refusal(root(8))?.reason, "head_invalid");
  });

  it("votes around a head it could not verify only for a stand-in at most maxStandInAgeSlots old; around an invalid one, whatever its age", async () => {
    const twin = new VerdictTwin();
    const guard = new HeadGuard(twin, {threshold: 3, maxStandInAgeSlots: 8});
    twin.verified(root(1), 1);
    const unverifiable = (r: string, slot: number) =>
      twin.set({
        status: "unavailable",
        reason: "bad_witness",
        detail: "proofs do not hash",
        root: r,
        slot,
        parentRoot: root(1),
      });
    unverifiable(root(2), 2);
    const recent = await guard.head(root(2), 9, Date.now());
    assert.deepEqual("root" in recent && [recent.root, recent.replaced?.reason], [root(1), "head_unverified"]);
    unverifiable(root(10), 10);
    const old = await guard.head(root(10), 10, Date.now());
    assert.ok("refused" in old, JSON.stringify(old));
    assert.match(old.refused.detail, /bad_witness.*the newest block verified here \(slot 1\) is 9 slots old, too old/);
    twin.invalid(root(11), 11);
    const invalid = await guard.head(root(11), 30, Date.now());
    assert.deepEqual("root" in invalid && [invalid.root, invalid.replaced?.reason], [root(1), "head_invalid"]);
  });

  it("a duty waiting for a head goes on as soon as the threshold-th peer's view arrives", async () => {
    const twin = new VerdictTwin();
    const guard = new HeadGuard(twin, {threshold: 3});
    twin.validAt(root(9), 9, [2, 3]);
    const t0 = Date.now();
    const settled = guard.settle(root(9), t0 + 10_000);
    setTimeout(() => twin.validAt(root(9), 9, [4]), 50);
    assert.equal(await settled, null);
    assert.ok(Date.now() - t0 < 5_000, "not the whole budget");
  });

  it("a node that has not verified the head itself signs it on three peers' views, with the others", async (t) => {
    const slot = 2;
    const leader = qbftLeader(slot, DUTY_TYPES.attester.leaderIndex, 1, 4);
    const lagging = leader === 2 ? 3 : 2;
    const others = [1, 2, 3, 4].filter((n) => n !== lagging);
    const twins = [1, 2, 3, 4].map(() => new VerdictTwin());
    const accepted: number[] = [];
    const duties = [0, 1, 2, 3].map((v) => ({slot, validatorIndex: v, committeeIndex: 0, validatorCommitteeIndex: v}));
    const c = await DutyCluster.start(t, {
      validators: 4,
      script: (b) => {
        b.attesterDuties.push(...duties);
        for (const [k, twin] of twins.entries()) {
          twin.verified(toHex(b.blockRoot(1)), 1);
          if (k + 1 !== lagging) twin.verified(toHex(b.blockRoot(slot)), slot);
        }
        (twins[lagging - 1] as VerdictTwin).validAt(toHex(b.blockRoot(slot)), slot, others);
      },
      node: (i) => ({
        headGuard: new HeadGuard(twins[i - 1] as VerdictTwin, {
          threshold: 3,
          onPeerAccepted: () => accepted.push(i),
        }),
      }),
    });
    await c.awaitResults("attester", duties, 5);

    const b = c.beacon;
    for (const d of duties)
      for (const node of [1, 2, 3, 4]) {
        const r = c.resultOf("attester", slot, node, d.validatorIndex);
        assert.equal(r.status, "submitted", JSON.stringify(r));
        assert.equal(r.headReplaced, undefined);
      }
    assert.equal(b.received.attestations.filter((a) => a.node === lagging).length, duties.length);
    assert.ok(
      b.received.attestations.every((a) => ssz.phase0.AttestationData.equals(a.item.data, b.attestationData(slot))),
    );
    assert.deepEqual([...new Set(accepted)], [lagging], "only the lagging node signed on its peers' views");
  });
});
