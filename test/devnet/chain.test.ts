import "../../src/devnet/preset.js";
import assert from "node:assert/strict";
import {before, describe, it} from "node:test";
import {aggregateSignatures, SecretKey} from "@chainsafe/blst";
import {DOMAIN_BEACON_ATTESTER, DOMAIN_RANDAO} from "@lodestar/params";
import {computeSigningRoot} from "@lodestar/state-transition";
import {ssz, type electra, type phase0} from "@lodestar/types";
import {produceBlock} from "../../src/devnet/blockProducer.js";
import {Devnet} from "../../src/devnet/devnet.js";
import {DevnetError} from "../../src/devnet/errors.js";
import {SyncPool} from "../../src/devnet/syncPool.js";
import {interopSecretKey} from "../../src/hotpath/interop.js";
import {createLogger} from "../../src/util/logger.js";

const SLOT_MS = 1000;

describe("devnet chain, driven slot by slot", () => {
  let devnet: Devnet;
  let nowMs = 0;
  before(async () => {
    devnet = await Devnet.create({
      validators: 16,
      own: new Set(Array.from({length: 16}, (_, i) => i)),
      slotMs: SLOT_MS,
      fork: "electra",
      genesisDelaySec: 0,
      logger: createLogger("error", "test"),
      now: () => nowMs,
    });
    for (let slot = 1; slot <= 3; slot++) {
      nowMs = devnet.chain.slotStartMs(slot);
      await devnet.own.propose(slot, undefined);
      nowMs += SLOT_MS / 3;
      devnet.own.attest(slot);
    }
  });

  const produce = async (slot: number): Promise<electra.BeaconBlock> => {
    nowMs = devnet.chain.slotStartMs(slot);
    const state = devnet.chain.stateAt(devnet.chain.head(), slot);
    const proposer = state.epochCtx.getBeaconProposer(slot);
    const randao = devnet.keys.sign(
      proposer,
      computeSigningRoot(ssz.Epoch, 0, devnet.chain.config.getDomain(slot, DOMAIN_RANDAO, slot)),
    );
    return (await produceBlock(devnet.chain, slot, randao, new Uint8Array(32), devnet.feeRecipients)).block;
  };

  it("imported every own block through the state transition", () => {
    assert.equal(devnet.chain.head().slot, 3);
  });

  it("packs only votes the chain lacks (one aggregate per slot, none repeated)", async () => {
    const block = await produce(4);
    const slots = block.body.attestations.map((a) => a.data.slot);
    assert.deepEqual(slots, [3], "slots 1 and 2 were already included by blocks 2 and 3");
    assert.equal(
      block.body.attestations[0]?.aggregationBits.getTrueBitIndexes().length,
      2,
      "16 validators: 2 attesters per slot",
    );
  });

  it("fills the sync aggregate from the previous slot's messages", async () => {
    const block = await produce(4);
    assert.equal(
      block.body.syncAggregate.syncCommitteeBits.getTrueBitIndexes().length,
      32,
      "all 32 positions held by own validators",
    );
  });

  it("ignores a vote it already holds before any signature check, and checks every other", () => {
    nowMs = devnet.chain.slotStartMs(4) + SLOT_MS / 3;
    const chain = devnet.chain;
    const data = chain.attestationData(4, 0);
    const attesterIndex = chain.dutyState(0).epochCtx.getBeaconCommittee(4, 0)[0] as number;
    const domain = chain.config.getDomain(4, DOMAIN_BEACON_ATTESTER, 4);
    const signature = devnet.keys.sign(attesterIndex, computeSigningRoot(ssz.phase0.AttestationData, data, domain));
    const vote = (d: phase0.AttestationData, sig: Uint8Array): electra.SingleAttestation => ({
      committeeIndex: 0,
      attesterIndex,
      data: d,
      signature: sig,
    });
    const garbage = new Uint8Array(96);
    // Unseen, a bad signature is refused.
    assert.throws(() => chain.addSingleAttestation(vote(data, garbage)), /signature/);
    chain.addSingleAttestation(vote(data, signature));
    // The same vote again (every node of a cluster submits it) is ignored: even a bad signature costs no check.
    chain.addSingleAttestation(vote(data, garbage));
    // Other data is checked: a signature over the first vote does not pass for it.
    // Built field by field: a spread would copy the root ssz caches on the first object.
    const {slot, index, source, target} = data;
    const other = {
      slot,
      index,
      source,
      target,
      beaconBlockRoot: chain.blocks.atOrBefore(chain.head(), 2)?.root as Uint8Array,
    };
    assert.throws(() => chain.addSingleAttestation(vote(other, signature)), /signature/);
  });

  it("checks a submission's votes over one root together, and refuses by index only the one signed with a wrong key", () => {
    const chain = devnet.chain;
    const votesAt = (slot: number, signers?: number[]) => {
      nowMs = chain.slotStartMs(slot) + SLOT_MS / 3;
      const data = chain.attestationData(slot, 0);
      const root = computeSigningRoot(
        ssz.phase0.AttestationData,
        data,
        chain.config.getDomain(slot, DOMAIN_BEACON_ATTESTER, slot),
      );
      const members = [...chain.dutyState(0).epochCtx.getBeaconCommittee(slot, 0)];
      return members.map((attesterIndex, k): electra.SingleAttestation => ({
        committeeIndex: 0,
        attesterIndex,
        data,
        signature: devnet.keys.sign(signers?.[k] ?? attesterIndex, root),
      }));
    };
    const seen = (v: electra.SingleAttestation) => {
      try {
        // A vote already held is ignored before its signature is looked at; an unheld one with this signature is refused.
        chain.addSingleAttestation({...v, signature: new Uint8Array(96)});
        return true;
      } catch {
        return false;
      }
    };
    const good = votesAt(5);
    assert.ok(good.length >= 2, "two votes over one root");
    assert.deepEqual(chain.addSingleAttestations(good), [undefined, undefined]);
    assert.ok(good.every(seen), "both votes in the pool");

    const first = votesAt(6)[0]?.attesterIndex as number;
    const mixed = votesAt(6, [first, first]);
    const refusals = chain.addSingleAttestations(mixed);
    assert.equal(refusals[0], undefined);
    assert.match(refusals[1] ?? "", /invalid signature of validator/);
    assert.deepEqual(mixed.map(seen), [true, false]);

    // The same vote twice in one submission, the first copy's signature wrong: the second is still checked, and held.
    const [vote] = votesAt(7);
    const twice = [{...vote!, signature: new Uint8Array(96)}, vote!];
    const answers = chain.addSingleAttestations(twice);
    assert.match(answers[0] ?? "", /signature/);
    assert.equal(answers[1], undefined);
    assert.ok(seen(vote!), "the good copy is in the pool");
  });

  it("refuses a randao reveal from the wrong key with a reason", async () => {
    nowMs = devnet.chain.slotStartMs(4);
    const bad = devnet.keys.sign(0, new Uint8Array(32));
    await assert.rejects(produceBlock(devnet.chain, 4, bad, new Uint8Array(32), devnet.feeRecipients), (e: unknown) => {
      assert.ok(e instanceof DevnetError);
      assert.match(e.message, /randao reveal: invalid signature/);
      return true;
    });
  });
});

describe("sync pool", () => {
  it("uses a contribution where it covers more of a subcommittee than the members' own messages", () => {
    const pool = new SyncPool();
    const root = new Uint8Array(32).fill(1);
    const sk = (i: number) => SecretKey.fromBytes(interopSecretKey(i));
    pool.add(5, root, [0], sk(0).sign(root));
    const contribution = aggregateSignatures([1, 2, 3].map((i) => sk(i).sign(root)));
    pool.addContribution(5, root, 0, [1, 2, 3], contribution);
    assert.deepEqual(pool.syncAggregate(5, root).syncCommitteeBits.getTrueBitIndexes(), [1, 2, 3]);
    pool.add(5, root, [8], sk(8).sign(root));
    assert.deepEqual(
      pool.syncAggregate(5, root).syncCommitteeBits.getTrueBitIndexes(),
      [1, 2, 3, 8],
      "other subcommittees keep their messages",
    );
    assert.equal(pool.contribution(5, root, 1)?.aggregationBits.getTrueBitIndexes().length, 1);
  });
});
