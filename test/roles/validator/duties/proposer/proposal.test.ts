import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {ssz} from "@lodestar/types";
import {bytesEqual, toHex} from "../../../../../src/hotpath/bytes.js";
import {blockSigningRoot, randaoSigningRoot} from "../../../../../src/roles/validator/signing/signingRoots.js";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";
import {signedAs, signedBy} from "../../../../helpers/dutyHarness/signatures.js";

const SLOT = 2;
const PROPOSER = 1;

describe("proposer duty", {timeout: 30_000}, () => {
  it("agrees on one block, signs it with the validator's key and its randao reveal, paying the lock's fee recipient", async (t) => {
    const c = await DutyCluster.start(t, {validators: 2, script: (b) => b.proposers.set(SLOT, PROPOSER)});
    await c.awaitResults("proposer", [{slot: SLOT, validatorIndex: PROPOSER}], SLOT + 2);
    const {config} = c.beacon;
    const roots = new Set<string>();
    for (const node of [1, 2, 3, 4]) {
      const r = c.resultOf("proposer", SLOT, node, PROPOSER);
      assert.equal(r.status, "submitted", JSON.stringify(r));
      const published = c.beacon.received.blocks.filter((x) => x.node === node);
      assert.equal(published.length, 1, `node ${node} published one block`);
      const {message: block, signature} = published[0]?.item as (typeof published)[number]["item"];
      assert.equal(block.slot, SLOT);
      assert.equal(block.proposerIndex, PROPOSER);
      assert.ok(bytesEqual(block.parentRoot, c.beacon.blockRoot(SLOT - 1)));
      assert.ok(
        bytesEqual(block.body.randaoReveal, signedAs(PROPOSER, randaoSigningRoot(config, 0))),
        "the randao reveal",
      );
      const payload = (block.body as {executionPayload: {feeRecipient: Uint8Array}}).executionPayload;
      assert.equal(toHex(payload.feeRecipient), c.memory.lock.validators[PROPOSER]?.fee_recipient);
      assert.ok(signedBy(PROPOSER, blockSigningRoot(config, block), signature), "signed by the proposer");
      roots.add(toHex(ssz.electra.BeaconBlock.hashTreeRoot(block as never)));
    }
    assert.equal(roots.size, 1, "every node published the one agreed block");
  });
});
