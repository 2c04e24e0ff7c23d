import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {ssz} from "@lodestar/types";
import {toHex} from "../../../../src/hotpath/bytes.js";
import {qbftLeader} from "../../../../src/roles/validator/consensus/quorum.js";
import {DUTY_TYPES} from "../../../../src/roles/validator/dutyTypes.js";
import {attestationSigningRoot} from "../../../../src/roles/validator/signing/signingRoots.js";
import {HeadGuard} from "../../../../src/roles/validator/verifiedChain/headGuard.js";
import {DutyCluster} from "../../../helpers/dutyHarness/dutyCluster.js";
import {signedBy} from "../../../helpers/dutyHarness/signatures.js";
import {VerdictTwin} from "../../../helpers/verdictTwin.js";

/** One committee of four validators at each of slots 2 and 3. */
const duties = (slot: number) =>
  [0, 1, 2, 3].map((v) => ({slot, validatorIndex: v + 4 * (slot - 2), committeeIndex: 0, validatorCommitteeIndex: v}));

describe("duties with --verify enforce (verdicts scripted per node)", {timeout: 60_000}, () => {
  it("votes around a head every node found invalid, and around one none verified, for the newest verified block", async (t) => {
    const twins = [1, 2, 3, 4].map(() => new VerdictTwin());
    const all = [...duties(2), ...duties(3)];
    const c = await DutyCluster.start(t, {
      validators: 8,
      script: (b) => {
        b.attesterDuties.push(...all);
        const hex = (slot: number) => toHex(b.blockRoot(slot));
        for (const twin of twins) {
          twin.verified(hex(1), 1, hex(0));
          twin.invalid(hex(2), 2, hex(1));
          const data = b.attestationData(1);
          twin.checkpointsOf.set(hex(1), {
            source: {epoch: data.source.epoch, root: toHex(data.source.root)},
            target: {epoch: data.target.epoch, root: toHex(data.target.root)},
          });
        }
      },
      node: (i) => ({headGuard: new HeadGuard(twins[i - 1] as VerdictTwin, {threshold: 3})}),
    });
    await c.awaitResults("attester", all, 6);

    const b = c.beacon;
    for (const slot of [2, 3]) {
      const expected = {...b.attestationData(slot), beaconBlockRoot: b.blockRoot(1)};
      for (const d of duties(slot)) {
        for (const node of [1, 2, 3, 4]) {
          const r = c.resultOf("attester", slot, node, d.validatorIndex);
          assert.equal(r.status, "submitted", JSON.stringify(r));
          assert.equal(r.headReplaced?.from, toHex(b.blockRoot(slot)));
          assert.equal(r.headReplaced?.to, toHex(b.blockRoot(1)));
          assert.equal(r.headReplaced?.reason, slot === 2 ? "head_invalid" : "head_unverified");
          const sent = b.received.attestations.filter(
            (a) => a.node === node && a.item.data.slot === slot && a.item.attesterIndex === d.validatorIndex,
          );
          assert.equal(sent.length, 1);
          const att = sent[0]?.item as (typeof sent)[number]["item"];
          assert.ok(ssz.phase0.AttestationData.equals(att.data, expected), "the newest verified block, as head");
          assert.ok(signedBy(d.validatorIndex, attestationSigningRoot(b.config, expected), att.signature));
        }
      }
    }
    const named = new Set(b.received.attestations.map((a) => toHex(a.item.data.beaconBlockRoot)));
    assert.deepEqual([...named], [toHex(b.blockRoot(1))], "no attestation names the invalid or unverified head");
    assert.ok(
      twins.every((tw) => tw.followed.includes(toHex(b.blockRoot(3)))),
      "each node asked its EVM role to judge the unverified head before voting around it",
    );
  });

  it("a node that has not verified the head the others decided on does not sign it; the others' shares suffice", async (t) => {
    const slot = 2;
    // Not the round's leader: its refusal then costs the others nothing but its partial.
    const leader = qbftLeader(slot, DUTY_TYPES.attester.leaderIndex, 1, 4);
    const lagging = leader === 2 ? 3 : 2;
    const twins = [1, 2, 3, 4].map(() => new VerdictTwin());
    const rejected: {node: number; reason: string}[] = [];
    const c = await DutyCluster.start(t, {
      validators: 4,
      script: (b) => {
        b.attesterDuties.push(...duties(slot));
        for (const [k, twin] of twins.entries()) {
          twin.verified(toHex(b.blockRoot(1)), 1);
          if (k + 1 !== lagging) twin.verified(toHex(b.blockRoot(slot)), slot);
        }
        // The lagging node votes around the head it has not verified, so it takes part in consensus with a value
        // of its own: it must then refuse the leader's, and not sign what the others decide.
        const data = b.attestationData(1);
        (twins[lagging - 1] as VerdictTwin).checkpointsOf.set(toHex(b.blockRoot(1)), {
          source: {epoch: data.source.epoch, root: toHex(data.source.root)},
          target: {epoch: data.target.epoch, root: toHex(data.target.root)},
        });
      },
      node: (i) => ({
        headGuard: new HeadGuard(twins[i - 1] as VerdictTwin, {threshold: 3}),
        qbftEvents: {onRejected: (_instance, _from, reason) => rejected.push({node: i, reason})},
      }),
    });
    await c.awaitResults("attester", duties(slot), 5);

    const b = c.beacon;
    for (const d of duties(slot)) {
      for (const node of [1, 2, 3, 4]) {
        const r = c.resultOf("attester", slot, node, d.validatorIndex);
        if (node === lagging) {
          assert.equal(r.status, "failed", JSON.stringify(r));
          assert.equal(r.reason, "head_unverified");
          assert.match(r.detail ?? "", /the cluster decided on a head this node did not verify/);
          assert.match(r.detail ?? "", new RegExp(toHex(b.blockRoot(slot))));
        } else {
          assert.equal(r.status, "submitted", JSON.stringify(r));
          assert.equal(r.headReplaced, undefined);
        }
      }
    }
    assert.ok(!b.received.attestations.some((a) => a.node === lagging), "the lagging node submitted nothing");
    assert.ok(
      rejected.some((x) => x.node === lagging && x.reason === "head_unverified"),
      `the lagging node refused the leader's proposal: ${JSON.stringify(rejected)}`,
    );
    assert.equal(b.received.attestations.length, 3 * duties(slot).length);
    assert.ok(
      b.received.attestations.every((a) => ssz.phase0.AttestationData.equals(a.item.data, b.attestationData(slot))),
    );
  });

  it("a proposal whose parent is verified only a fifth of a slot in waits for it and is published on time", async (t) => {
    const slot = 2;
    const proposer = 1;
    const twins = [1, 2, 3, 4].map(() => new VerdictTwin());
    const c = await DutyCluster.start(t, {
      validators: 2,
      script: (b) => b.proposers.set(slot, proposer),
      node: (i) => ({headGuard: new HeadGuard(twins[i - 1] as VerdictTwin, {threshold: 3})}),
    });
    const b = c.beacon;
    // A loaded machine: the parent's verdict comes 1/5 of the slot after the slot starts, well past the wait a
    // vote allows for its head (1/24) and before the block would be late (1/3).
    const verdictAt = b.slotStartMs(slot) + b.slotMs / 5;
    const verdict = setTimeout(() => {
      for (const twin of twins) twin.verified(toHex(b.blockRoot(slot - 1)), slot - 1);
    }, verdictAt - Date.now());
    t.after(() => clearTimeout(verdict));
    await c.awaitResults("proposer", [{slot, validatorIndex: proposer}], slot + 2);
    for (const node of [1, 2, 3, 4]) {
      const r = c.resultOf("proposer", slot, node, proposer);
      assert.equal(r.status, "submitted", JSON.stringify(r));
    }
    assert.equal(b.received.blocks.length, 4, "every node published the block");
    assert.ok(
      twins.every((tw) => tw.followed.includes(toHex(b.blockRoot(slot - 1)))),
      "each node asked its EVM role to judge the parent before proposing on it",
    );
  });
});
