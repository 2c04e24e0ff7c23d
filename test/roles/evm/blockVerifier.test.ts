import "../../../src/devnet/preset.js";
import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {ssz} from "@lodestar/types";
import {toHex} from "../../../src/hotpath/bytes.js";
import type {VerifyOutcome} from "../../../src/roles/evm/blockVerifier.js";
import {describeChain, type ChainDescription} from "../../../src/roles/evm/chainDescription.js";
import {StateTransitionPool} from "../../../src/workers/stateTransitionPool.js";
import {devnetWithBlocks, serializeBlock} from "../../helpers/devnetBlocks.js";

/**
 * The verifier in its thread, fed blocks of a real devnet chain and tampered copies of them (altered, then signed
 * again with the interop keys where the test wants only one check to fail): no part of the state transition is
 * mocked.
 */
describe("block verifier (state transition thread)", () => {
  let f: Awaited<ReturnType<typeof devnetWithBlocks>>;
  let pool: StateTransitionPool;
  let chain: ChainDescription;
  before(async () => {
    f = await devnetWithBlocks(64, 4);
    chain = describeChain(f.chain.config);
    pool = new StateTransitionPool();
  });
  after(() => pool.close());

  const bootstrap = () => pool.bootstrap(chain, f.genesisState());
  const verdictOf = (o: VerifyOutcome) => {
    assert.equal(o.kind, "verdict", JSON.stringify(o));
    return (o as Extract<VerifyOutcome, {kind: "verdict"}>).verdict;
  };

  it("bootstraps on the genesis block and verifies every block of the chain, with the chain's state roots", async () => {
    const anchor = await bootstrap();
    assert.equal(anchor.root, f.chain.genesisBlock.rootHex);
    assert.equal(anchor.slot, 0);
    const blocks = f.blocks();
    assert.equal(blocks.length, 4);
    for (const b of blocks) {
      const v = verdictOf(await pool.verify(serializeBlock(b)));
      assert.equal(v.status, "verified", JSON.stringify(v));
      assert.equal(v.slot, b.message.slot);
      assert.equal(v.root, toHex(ssz.electra.BeaconBlock.hashTreeRoot(b.message)));
      assert.equal(v.status === "verified" && v.stateRoot, toHex(b.message.stateRoot));
    }
  });

  it("finds a wrong state root in a block whose signatures are all valid", async () => {
    const message = await f.nextBlock();
    const good = verdictOf(await pool.verify(serializeBlock(f.sign(message))));
    assert.equal(good.status, "verified", "the untampered block passes, so the test fails only on the tampering");
    const tampered = f.copy(message);
    tampered.stateRoot = new Uint8Array(32).fill(7);
    const v = verdictOf(await pool.verify(serializeBlock(f.sign(tampered))));
    assert.equal(v.status, "invalid");
    assert.equal(v.status === "invalid" && v.reason, "bad_state_root", JSON.stringify(v));
    assert.match(v.status === "invalid" ? v.detail : "", new RegExp(toHex(message.stateRoot)));
  });

  it("finds a proposer signature made with another key, before any state transition", async () => {
    const message = await f.nextBlock();
    const v = verdictOf(await pool.verify(serializeBlock(f.sign(message, (message.proposerIndex + 1) % 64))));
    assert.equal(v.status === "invalid" && v.reason, "bad_signature", JSON.stringify(v));
    assert.match(v.status === "invalid" ? v.detail : "", /block proposer/);
    assert.equal(v.status === "invalid" && v.timings?.blockMs, 0, "the transition never ran");
  });

  it("finds a forged RANDAO reveal", async () => {
    const message = await f.nextBlock();
    const forged = f.copy(message);
    forged.body.randaoReveal = f.randaoReveal((message.proposerIndex + 1) % 64, message.slot);
    const v = verdictOf(await pool.verify(serializeBlock(f.sign(forged))));
    assert.equal(v.status === "invalid" && v.reason, "bad_signature", JSON.stringify(v));
    assert.match(v.status === "invalid" ? v.detail : "", /randao/);
  });

  it("finds a block the state transition refuses (wrong proposer index)", async () => {
    const message = await f.nextBlock();
    const wrong = f.copy(message);
    wrong.proposerIndex = (message.proposerIndex + 1) % 64;
    // Its RANDAO reveal and signature are the named index's, so every signature is fine and only the proposer check fails.
    wrong.body.randaoReveal = f.randaoReveal(wrong.proposerIndex, wrong.slot);
    const v = verdictOf(await pool.verify(serializeBlock(f.sign(wrong))));
    assert.equal(v.status === "invalid" && v.reason, "state_transition", JSON.stringify(v));
  });

  it("calls an attestation naming a committee that does not exist a state transition failure, not a signature's", async () => {
    const message = await f.nextBlock();
    const broken = f.copy(message);
    const attestation = broken.body.attestations[0];
    assert.ok(attestation, "the block carries the last slot's attestation");
    // 64 validators make one committee per slot: committee 3 does not exist.
    attestation.committeeBits.set(3, true);
    const v = verdictOf(await pool.verify(serializeBlock(f.sign(broken))));
    assert.equal(v.status === "invalid" && v.reason, "state_transition", JSON.stringify(v));
  });

  it("says it lacks the parent's state for a block on an unknown parent, and refuses garbage", async () => {
    const message = await f.nextBlock();
    const orphan = f.copy(message);
    orphan.parentRoot = new Uint8Array(32).fill(9);
    const o = await pool.verify(serializeBlock(f.sign(orphan)));
    assert.equal(o.kind, "no_parent_state");
    assert.equal((await pool.verify(new Uint8Array(50))).kind, "malformed");
  });
});
