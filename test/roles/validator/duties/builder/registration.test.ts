import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {ssz} from "@lodestar/types";
import {toHex} from "../../../../../src/hotpath/bytes.js";
import type {RegistrationResult} from "../../../../../src/roles/validator/duties/builder/registrationService.js";
import {validatorRegistrationSigningRoot} from "../../../../../src/roles/validator/signing/signingRoots.js";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";
import {signedBy} from "../../../../helpers/dutyHarness/signatures.js";

const VALIDATORS = 3;
/** Validator k registers in the slots k mod SLOTS_PER_EPOCH: validator 0 first in epoch 1's first slot. */
const LAST_SLOT = SLOTS_PER_EPOCH;

describe("builder registrations", {timeout: 60_000}, () => {
  it("every validator's registration is threshold-signed under the builder domain and sent by every node; a refusing beacon node fails its node's results", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: VALIDATORS,
      node: () => ({builder: {boostFactor: 100n}}),
      script: (b) => b.fault("registerValidator", {status: 503, nodes: [4]}),
    });
    const results = () =>
      c.results.filter((r): r is RegistrationResult & {node: number} => r.duty === "builder_registration");
    const done = () =>
      [0, 1, 2].every((v) =>
        [1, 2, 3, 4].every((node) => results().some((r) => r.node === node && r.pubkey === c.pubkey(v))),
      );
    await c.until("a registration result of every node for every validator", done, LAST_SLOT + 3);

    const {config} = c.beacon;
    for (let v = 0; v < VALIDATORS; v++) {
      const sent = c.beacon.received.registrations.filter((x) => toHex(x.item.message.pubkey) === c.pubkey(v));
      assert.deepEqual(
        [...new Set(sent.map((x) => x.node))].sort(),
        [1, 2, 3],
        `validator ${v}: sent by every node whose beacon node takes them`,
      );
      const bytes = new Set(sent.map((x) => toHex(ssz.bellatrix.SignedValidatorRegistrationV1.serialize(x.item))));
      assert.equal(bytes.size, 1, `validator ${v}: every node sent the same signed registration`);
      const {message, signature} = sent[0]?.item as (typeof sent)[number]["item"];
      assert.equal(toHex(message.feeRecipient), c.memory.lock.validators[v]?.fee_recipient);
      assert.equal(message.gasLimit, c.memory.lock.validators[v]?.gas_limit, "the lock's gas limit");
      const slot = results().find((r) => r.pubkey === c.pubkey(v))?.slot as number;
      assert.equal(slot % SLOTS_PER_EPOCH, v % SLOTS_PER_EPOCH, "spread over the epoch by the validator's place");
      const epochStart = c.beacon.slotStartMs(Math.floor(slot / SLOTS_PER_EPOCH) * SLOTS_PER_EPOCH) / 1000;
      assert.equal(message.timestamp, epochStart, "the timestamp is the epoch's start");
      assert.ok(
        signedBy(v, validatorRegistrationSigningRoot(config, message), signature),
        `validator ${v}: recovered from the shares, valid under the builder domain with the validator's key`,
      );
    }
    for (const r of results()) {
      if (r.node === 4) {
        assert.equal(r.status, "failed", JSON.stringify(r));
        assert.equal(r.reason, "submit_failed");
        assert.match(r.detail ?? "", /no beacon node took the registrations/);
      } else assert.equal(r.status, "submitted", JSON.stringify(r));
      assert.equal(
        r.validatorIndex,
        c.memory.lock.validators.findIndex((x) => x.pubkey === r.pubkey),
      );
    }
  });

  it("a cluster started mid-epoch registers at its first slot the validators whose place had passed", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: VALIDATORS,
      node: () => ({builder: {boostFactor: 100n}}),
      // The nodes start in slot 4 of epoch 0, past every validator's place (0, 1, 2).
      firstSlot: 5,
    });
    const results = () =>
      c.results.filter((r): r is RegistrationResult & {node: number} => r.duty === "builder_registration");
    const done = () =>
      [0, 1, 2].every((v) =>
        [1, 2, 3, 4].every((node) => results().some((r) => r.node === node && r.pubkey === c.pubkey(v))),
      );
    await c.until("a registration result of every node for every validator", done, SLOTS_PER_EPOCH - 1);
    for (let v = 0; v < VALIDATORS; v++) {
      const mine = results().filter((r) => r.pubkey === c.pubkey(v));
      for (const r of mine) {
        assert.equal(r.status, "submitted", JSON.stringify(r));
        assert.ok(r.slot < SLOTS_PER_EPOCH && r.slot % SLOTS_PER_EPOCH > v, `caught up, not at its place: ${r.slot}`);
        assert.equal(r.timestamp, c.beacon.slotStartMs(0) / 1000, "the timestamp is the epoch's start");
      }
      const sent = c.beacon.received.registrations.filter((x) => toHex(x.item.message.pubkey) === c.pubkey(v));
      assert.ok(sent.length >= 1);
      const {message, signature} = sent[0]?.item as (typeof sent)[number]["item"];
      assert.ok(signedBy(v, validatorRegistrationSigningRoot(c.beacon.config, message), signature));
    }
  });
});
