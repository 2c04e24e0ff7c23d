import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {type Server, createServer} from "node:http";
import {after, before, describe, it} from "node:test";
import {DOMAIN_BEACON_PROPOSER, SLOTS_PER_EPOCH, SYNC_COMMITTEE_SUBNET_SIZE} from "@lodestar/params";
import {computeSigningRoot, isSyncCommitteeAggregator} from "@lodestar/state-transition";
import {ssz} from "@lodestar/types";
import {BeaconError} from "../../../../src/roles/validator/beacon/errors.js";
import {BeaconNode} from "../../../../src/roles/validator/beacon/beaconNode.js";
import {
  attestationSigningRoot,
  contributionAndProofSigningRoot,
  syncCommitteeMessageSigningRoot,
  syncSelectionProofSigningRoot,
} from "../../../../src/roles/validator/signing/signingRoots.js";
import {toHex} from "../../../../src/hotpath/bytes.js";
import {interopSecretKey} from "../../../../src/hotpath/interop.js";
import {secretToPublicKey, sign} from "../../../../src/hotpath/threshold.js";
import {waitFor} from "../../../helpers/cluster.js";
import {type LodestarNode, freePort, startLodestar} from "../../../helpers/lodestar.js";

const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

/** Against a real Lodestar v1.5.1 (Altair) beacon node: our client reads its chain and it accepts what we sign. */
describe("beacon node client against a real Lodestar", {timeout: 300_000}, () => {
  let lodestar: LodestarNode;
  let bn: BeaconNode;
  const ours = Array.from({length: 11}, (_, k) => k + 5);
  const pubkeys = ours.map((i) => toHex(secretToPublicKey(interopSecretKey(i))));

  before(async () => {
    lodestar = await startLodestar({validators: 16, own: "0..4", genesisDelay: 8});
    bn = await BeaconNode.connect(["http://127.0.0.1:1", lodestar.url]);
  });
  after(() => lodestar?.stop());

  it("reads spec, genesis and fork schedule from the node (falling over an unreachable first URL)", async () => {
    assert.equal(bn.url, lodestar.url);
    assert.equal(bn.clock.slotMs, 2000);
    assert.equal(bn.clock.genesisTime, lodestar.genesisTime);
    assert.equal(bn.config.getForkName(0), "altair");
    assert.equal(bn.isElectra(0), false);
    assert.equal(
      bn.clock.dueMs("attestation", 3) - bn.clock.slotStartMs(3),
      Math.floor(2000 / 3),
      "an Altair node publishes no ATTESTATION_DUE_BPS: a third of the slot",
    );
    const res = await fetch(`${lodestar.url}/eth/v1/beacon/genesis`).then(
      (r) => r.json() as Promise<{data: {genesis_validators_root: string}}>,
    );
    assert.equal(toHex(bn.genesisValidatorsRoot), res.data.genesis_validators_root);
  });

  it("finds our validators and their attester duties", async () => {
    const indices = await bn.validatorIndices(pubkeys);
    assert.deepEqual(
      pubkeys.map((p) => indices.get(p)),
      ours,
    );
    const {duties, dependentRoot} = await bn.attesterDuties(0, ours);
    assert.equal(duties.length, ours.length);
    assert.match(dependentRoot, /^0x[0-9a-f]{64}$/);
    assert.deepEqual(duties.map((d) => d.pubkey).sort(), [...pubkeys].sort());
    assert.ok(duties.every((d) => d.slot < SLOTS_PER_EPOCH && d.validatorCommitteeIndex < d.committeeLength));
  });

  it("an attestation signed with our domain is accepted; one signed under another domain is refused", async () => {
    await sleepUntil(bn.clock.slotStartMs(1));
    const epoch = bn.clock.epochOf(bn.clock.currentSlot()) + 1;
    const {duties} = await bn.attesterDuties(epoch, ours);
    const duty = duties.sort((a, b) => a.slot - b.slot)[0]!;
    await sleepUntil(bn.clock.dueMs("attestation", duty.slot));
    const data = await bn.attestationData(duty.slot, duty.committeeIndex);
    assert.equal(data.slot, duty.slot);
    const sk = interopSecretKey(duty.validatorIndex);
    const good = {...duty, data, signature: sign(sk, attestationSigningRoot(bn.config, data))};
    // The bad one first: a node that has seen the good one answers "already known" before checking signatures.
    // The same data under the proposer's domain: a signature Lodestar must not accept as an attestation.
    const wrongRoot = computeSigningRoot(
      ssz.phase0.AttestationData,
      data,
      bn.config.getDomain(data.slot, DOMAIN_BEACON_PROPOSER),
    );
    assert.notDeepEqual(wrongRoot, attestationSigningRoot(bn.config, data));
    const refused = await bn.submitAttestations([{...good, signature: sign(sk, wrongRoot)}]);
    const e = refused.get(0);
    assert.ok(e instanceof BeaconError, String(e));
    assert.equal(e.code, "BEACON_REFUSED");
    assert.match(e.message, /INVALID_SIGNATURE/);
    assert.equal((await bn.submitAttestations([good])).size, 0, "the valid one is taken");
  });

  it("a sync committee message over the head is accepted, counted in the contribution we read, and our contribution reaches the next block", async () => {
    const v = ours[0] as number;
    const sk = interopSecretKey(v);
    // Only Lodestar's validators 0..4 propose here: take a slot whose next block is theirs, in this epoch or the next.
    const slot = await waitFor(
      "a slot before a block of Lodestar's own",
      async () => {
        const now = bn.clock.currentSlot();
        const {duties} = await bn.proposerDuties(bn.clock.epochOf(now));
        const theirs = duties.filter((d) => d.validatorIndex < ours[0]! && d.slot > now + 1).map((d) => d.slot - 1);
        return theirs.length > 0 ? Math.min(...theirs) : undefined;
      },
      3 * SLOTS_PER_EPOCH * bn.clock.slotMs,
      bn.clock.slotMs,
    );
    const [duty] = await bn.syncCommitteeDuties(bn.clock.epochOf(slot), [v]);
    assert.ok(duty, "every validator of a 16-validator chain sits in its 32-seat sync committee");
    await sleepUntil(bn.clock.dueMs("attestation", slot));
    // The next block's sync aggregate is over its parent, the head now (the slot's own block, if it has one).
    const head = await bn.headBlock();
    const position = duty.validatorSyncCommitteeIndices[0] as number;
    const subcommitteeIndex = Math.floor(position / SYNC_COMMITTEE_SUBNET_SIZE);
    await bn.submitSyncCommitteeMessages([
      {
        slot,
        beaconBlockRoot: head.root,
        validatorIndex: v,
        signature: sign(sk, syncCommitteeMessageSigningRoot(bn.config, slot, head.root)),
      },
    ]);

    const contribution = await bn.syncCommitteeContribution(slot, subcommitteeIndex, head.root);
    assert.ok(
      contribution.aggregationBits.get(position % SYNC_COMMITTEE_SUBNET_SIZE),
      `our bit ${position} in ${JSON.stringify(contribution.aggregationBits.getTrueBitIndexes())}`,
    );
    const selectionProof = sign(sk, syncSelectionProofSigningRoot(bn.config, slot, subcommitteeIndex));
    assert.ok(isSyncCommitteeAggregator(selectionProof), "the minimal preset makes every member an aggregator");
    const message = {aggregatorIndex: v, contribution, selectionProof};
    await bn.publishContributions([
      {message, signature: sign(sk, contributionAndProofSigningRoot(bn.config, message))},
    ]);

    type Block = {data: {message: {body: {sync_aggregate: {sync_committee_bits: string}}}}};
    const next = await waitFor(
      `the block at slot ${slot + 1}`,
      async () => {
        const res = await fetch(`${lodestar.url}/eth/v2/beacon/blocks/${slot + 1}`);
        return res.ok && ((await res.json()) as Block);
      },
      4 * bn.clock.slotMs,
      200,
    );
    const bits = ssz.altair.SyncAggregate.fields.syncCommitteeBits.fromJson(
      next.data.message.body.sync_aggregate.sync_committee_bits,
    );
    assert.ok(
      bits.get(position),
      `our seat ${position} not in block ${slot + 1}'s sync aggregate ${JSON.stringify(bits.getTrueBitIndexes())}`,
    );
  });
});

describe("beacon node client against garbage", () => {
  let server: Server;
  let url: string;
  before(async () => {
    const port = await freePort();
    // A broken "beacon node": valid HTTP, nonsense bodies. Fault injection for the layer above HTTP.
    server = createServer((req, res) => {
      if (req.url === "/eth/v1/beacon/genesis") return void res.end(JSON.stringify({data: {genesis_time: "soon"}}));
      res.end("<html>teapot</html>");
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    url = `http://127.0.0.1:${port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it("says which node answered what, instead of failing later", async () => {
    await assert.rejects(BeaconNode.connect([url]), (e) => {
      assert.ok(e instanceof BeaconError);
      // It answered, with garbage: a bad response, not an unreachable node.
      assert.equal(e.code, "BEACON_BAD_RESPONSE");
      assert.match(e.message, /\/eth\/v1\/beacon\/genesis with an invalid body: data\.genesis_time|not JSON/);
      return true;
    });
  });
});
