import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {ForkName} from "@lodestar/params";
import {ssz} from "@lodestar/types";
import {fromHex, toHex} from "../../../../../src/hotpath/bytes.js";
import {checkProposal} from "../../../../../src/roles/validator/duties/proposer/proposalCheck.js";

const LOCK_FEE_RECIPIENT = "0x" + "22".repeat(20);
const HEAD = new Uint8Array(32).fill(7);
const expect = {feeRecipient: LOCK_FEE_RECIPIENT, heads: new Set([toHex(HEAD)])};

function electraBlock(feeRecipient: string, parent = HEAD) {
  const block = ssz.electra.BeaconBlock.defaultValue();
  block.parentRoot = parent;
  block.body.executionPayload.feeRecipient = fromHex(feeRecipient, 20);
  block.body.executionPayload.blockHash = new Uint8Array(32).fill(1);
  return {fork: ForkName.electra, block};
}

function builderBlock(feeRecipient: string, parent = HEAD) {
  const blinded = ssz.electra.BlindedBeaconBlock.defaultValue();
  blinded.parentRoot = parent;
  blinded.body.executionPayloadHeader.feeRecipient = fromHex(feeRecipient, 20);
  blinded.body.executionPayloadHeader.blockHash = new Uint8Array(32).fill(1);
  return {fork: ForkName.electra, blinded};
}

describe("a proposed block is checked against the lock's fee recipient and this node's head", () => {
  it("accepts a block paying the lock's fee recipient on the head", () => {
    assert.equal(checkProposal(electraBlock(LOCK_FEE_RECIPIENT), expect), null);
  });

  it("refuses a block paying another address, naming both", () => {
    const r = checkProposal(electraBlock("0x" + "ee".repeat(20)), expect);
    assert.equal(r?.reason, "fee_recipient_mismatch");
    assert.match(r?.detail ?? "", /0xeeee.*0x2222/);
  });

  it("refuses a block on another parent than any head this node saw, and accepts one on a head seen later", () => {
    const other = new Uint8Array(32).fill(9);
    assert.equal(checkProposal(electraBlock(LOCK_FEE_RECIPIENT, other), expect)?.reason, "wrong_parent");
    assert.equal(
      checkProposal(electraBlock(LOCK_FEE_RECIPIENT, other), {...expect, heads: new Set([toHex(HEAD), toHex(other)])}),
      null,
    );
  });

  it("has no fee recipient to check before the merge: Altair blocks have no payload, pre-merge Bellatrix ones an empty one", () => {
    const altair = ssz.altair.BeaconBlock.defaultValue();
    altair.parentRoot = HEAD;
    assert.equal(checkProposal({fork: ForkName.altair, block: altair}, expect), null);
    const preMerge = ssz.bellatrix.BeaconBlock.defaultValue();
    preMerge.parentRoot = HEAD;
    assert.equal(checkProposal({fork: ForkName.bellatrix, block: preMerge}, expect), null);
  });

  it("does not hold a builder's blinded block to the lock's fee recipient (the relay checks its payment), but to the head", () => {
    assert.equal(checkProposal(builderBlock("0x" + "ee".repeat(20)), expect), null);
    assert.equal(
      checkProposal(builderBlock(LOCK_FEE_RECIPIENT, new Uint8Array(32).fill(9)), expect)?.reason,
      "wrong_parent",
    );
  });
});
