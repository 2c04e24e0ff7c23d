// The client decodes SSZ-shaped JSON with the preset's sizes: choose minimal before Lodestar is loaded.
import "../../src/devnet/preset.js";
import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import {getClient, type ApiClient} from "@lodestar/api";
import {chainConfigFromJson, createBeaconConfig, type BeaconConfig} from "@lodestar/config";
import {
  DOMAIN_AGGREGATE_AND_PROOF,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_BEACON_PROPOSER,
  DOMAIN_CONTRIBUTION_AND_PROOF,
  DOMAIN_RANDAO,
  DOMAIN_SELECTION_PROOF,
  DOMAIN_SYNC_COMMITTEE,
  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF,
  SLOTS_PER_EPOCH,
  SYNC_COMMITTEE_SIZE,
  SYNC_COMMITTEE_SUBNET_SIZE,
} from "@lodestar/params";
import {
  computeDomain,
  computeEpochAtSlot,
  computeSigningRoot,
  isAggregatorFromCommitteeLength,
  isSyncCommitteeAggregator,
} from "@lodestar/state-transition";
import {ssz, type electra} from "@lodestar/types";
import {interopSecretKey} from "../../src/hotpath/interop.js";
import {getJson, sleep, spawnDevnet, type RunningDevnet} from "./helpers.js";

const VALIDATORS = 16;
const SLOT_MS = 2000;
/** Epochs the client runs duties for: finality of epoch 2 is visible once epoch 4 starts. */
const EPOCHS = 5;
/** The validator whose epoch-1 attestation is sent three broken ways and never correctly. */
const VICTIM_EPOCH = 1;
/** A slot whose block is first published signed with the wrong key (refused), then correctly. */
const BAD_BLOCK_SLOT = 2 * SLOTS_PER_EPOCH + 1;

type Report = {
  data: {
    epochs: {
      epoch: number;
      validators: {
        index: number;
        included: boolean;
        correct_target: boolean;
        correct_source: boolean;
        refused: string | null;
      }[];
    }[];
  };
};

describe("devnet-beacon driven by @lodestar/api's client, one interop key per validator", () => {
  let devnet: RunningDevnet;
  let api: ApiClient;
  let config: BeaconConfig;
  const keys = Array.from({length: VALIDATORS}, (_, i) => SecretKey.fromBytes(interopSecretKey(i)));
  const indices = Array.from({length: VALIDATORS}, (_, i) => i);
  const refusals: {what: string; status: number; message: string}[] = [];
  let victim = -1;
  let contributionsPublished = 0;
  let aggregatesPublished = 0;
  let blocksPublished = 0;
  let badBlock: {status: number; message: string} | null = null;

  before(async () => {
    devnet = await spawnDevnet([
      "--validators",
      String(VALIDATORS),
      "--own",
      "none",
      "--slot-ms",
      String(SLOT_MS),
      "--genesis-delay",
      "3",
    ]);
    const bootstrap = getClient(
      {baseUrl: devnet.url},
      {config: createBeaconConfig(chainConfigFromJson({}), new Uint8Array(32))},
    );
    const spec = (await bootstrap.config.getSpec()).value();
    const genesis = (await bootstrap.beacon.getGenesis()).value();
    config = createBeaconConfig(chainConfigFromJson(spec), genesis.genesisValidatorsRoot);
    api = getClient({baseUrl: devnet.url}, {config});
  });
  after(async () => devnet?.stop());

  const sign = (index: number, root: Uint8Array): Uint8Array => (keys[index] as SecretKey).sign(root).toBytes();
  const slotStart = (slot: number): number => devnet.genesisTime * 1000 + slot * SLOT_MS;
  const waitUntil = async (t: number): Promise<void> => {
    const d = t - Date.now();
    if (d > 0) await sleep(d);
  };

  async function propose(slot: number): Promise<void> {
    const epoch = computeEpochAtSlot(slot);
    const duties = (await api.validator.getProposerDuties({epoch})).value();
    const duty = duties.find((d) => d.slot === slot);
    assert.ok(duty, `no proposer for slot ${slot}`);
    const randaoReveal = sign(
      duty.validatorIndex,
      computeSigningRoot(ssz.Epoch, epoch, config.getDomain(slot, DOMAIN_RANDAO)),
    );
    const produced = (await api.validator.produceBlockV3({slot, randaoReveal, graffiti: "lodestar-api test"})).value();
    const block = (produced as {block: electra.BeaconBlock}).block;
    assert.equal(block.proposerIndex, duty.validatorIndex);
    const signingRoot = computeSigningRoot(
      ssz.electra.BeaconBlock,
      block,
      config.getDomain(slot, DOMAIN_BEACON_PROPOSER),
    );
    if (slot === BAD_BLOCK_SLOT) {
      const wrongKey = (duty.validatorIndex + 1) % VALIDATORS;
      const res = await api.beacon.publishBlockV2({
        signedBlockContents: {
          signedBlock: {message: block, signature: sign(wrongKey, signingRoot)},
          kzgProofs: [],
          blobs: [],
        },
      });
      badBlock = {status: res.status, message: await res.errorBody().catch(() => "")};
    }
    const signature = sign(duty.validatorIndex, signingRoot);
    (
      await api.beacon.publishBlockV2({
        signedBlockContents: {signedBlock: {message: block, signature}, kzgProofs: [], blobs: []},
      })
    ).assertOk();
    blocksPublished++;
  }

  async function refused(what: string, attestation: electra.SingleAttestation): Promise<void> {
    const res = await api.beacon.submitPoolAttestationsV2({signedAttestations: [attestation]});
    refusals.push({what, status: res.status, message: (await res.errorBody().catch(() => "")) || ""});
  }

  async function attest(
    slot: number,
  ): Promise<Map<number, {committeeIndex: number; committeeLength: number; data: Uint8Array}>> {
    const epoch = computeEpochAtSlot(slot);
    const duties = (await api.validator.getAttesterDuties({epoch, indices})).value().filter((d) => d.slot === slot);
    const out = new Map<number, {committeeIndex: number; committeeLength: number; data: Uint8Array}>();
    const atts: electra.SingleAttestation[] = [];
    for (const d of duties) {
      const data = (await api.validator.produceAttestationData({slot, committeeIndex: d.committeeIndex})).value();
      const root = computeSigningRoot(ssz.phase0.AttestationData, data, config.getDomain(slot, DOMAIN_BEACON_ATTESTER));
      if (epoch === VICTIM_EPOCH && victim < 0) {
        victim = d.validatorIndex;
        const other = (d.validatorIndex + 1) % VALIDATORS;
        await refused("wrong signature", {
          committeeIndex: d.committeeIndex,
          attesterIndex: victim,
          data,
          signature: sign(other, root),
        });
        const denebDomain = computeDomain(
          DOMAIN_BEACON_ATTESTER,
          config.DENEB_FORK_VERSION,
          config.genesisValidatorsRoot,
        );
        const oldForkRoot = computeSigningRoot(ssz.phase0.AttestationData, data, denebDomain);
        await refused("wrong domain", {
          committeeIndex: d.committeeIndex,
          attesterIndex: victim,
          data,
          signature: sign(victim, oldForkRoot),
        });
        const future = {...data, slot: slot + 2};
        const futureRoot = computeSigningRoot(
          ssz.phase0.AttestationData,
          future,
          config.getDomain(slot + 2, DOMAIN_BEACON_ATTESTER),
        );
        await refused("future slot", {
          committeeIndex: d.committeeIndex,
          attesterIndex: victim,
          data: future,
          signature: sign(victim, futureRoot),
        });
        continue;
      }
      atts.push({
        committeeIndex: d.committeeIndex,
        attesterIndex: d.validatorIndex,
        data,
        signature: sign(d.validatorIndex, root),
      });
      out.set(d.validatorIndex, {
        committeeIndex: d.committeeIndex,
        committeeLength: d.committeeLength,
        data: ssz.phase0.AttestationData.hashTreeRoot(data),
      });
    }
    if (atts.length > 0) (await api.beacon.submitPoolAttestationsV2({signedAttestations: atts})).assertOk();

    const syncDuties = (await api.validator.getSyncCommitteeDuties({epoch, indices})).value();
    const headRoot = (await api.beacon.getBlockRoot({blockId: "head"})).value().root;
    const syncRoot = computeSigningRoot(ssz.Root, headRoot, config.getDomain(slot, DOMAIN_SYNC_COMMITTEE));
    const messages = syncDuties.map((d) => ({
      slot,
      beaconBlockRoot: headRoot,
      validatorIndex: d.validatorIndex,
      signature: sign(d.validatorIndex, syncRoot),
    }));
    if (messages.length > 0) (await api.beacon.submitPoolSyncCommitteeSignatures({signatures: messages})).assertOk();
    return out;
  }

  async function aggregate(
    slot: number,
    attested: Map<number, {committeeIndex: number; committeeLength: number; data: Uint8Array}>,
  ): Promise<void> {
    const epoch = computeEpochAtSlot(slot);
    const aggregates: electra.SignedAggregateAndProof[] = [];
    for (const [validatorIndex, a] of attested) {
      const selectionProof = sign(
        validatorIndex,
        computeSigningRoot(ssz.Slot, slot, config.getDomain(slot, DOMAIN_SELECTION_PROOF)),
      );
      if (!isAggregatorFromCommitteeLength(a.committeeLength, selectionProof)) continue;
      const agg = (
        await api.validator.getAggregatedAttestationV2({
          attestationDataRoot: a.data,
          slot,
          committeeIndex: a.committeeIndex,
        })
      ).value() as electra.Attestation;
      const message = {aggregatorIndex: validatorIndex, aggregate: agg, selectionProof};
      const signature = sign(
        validatorIndex,
        computeSigningRoot(ssz.electra.AggregateAndProof, message, config.getDomain(slot, DOMAIN_AGGREGATE_AND_PROOF)),
      );
      aggregates.push({message, signature});
    }
    if (aggregates.length > 0) {
      (await api.validator.publishAggregateAndProofsV2({signedAggregateAndProofs: aggregates})).assertOk();
      aggregatesPublished += aggregates.length;
    }
    const syncDuties = (await api.validator.getSyncCommitteeDuties({epoch, indices})).value();
    const headRoot = (await api.beacon.getBlockRoot({blockId: "head"})).value().root;
    const contributions = [];
    for (const d of syncDuties) {
      for (const sub of new Set(
        d.validatorSyncCommitteeIndices.map((p) => Math.floor(p / SYNC_COMMITTEE_SUBNET_SIZE)),
      )) {
        const selectionData = {slot, subcommitteeIndex: sub};
        const selectionProof = sign(
          d.validatorIndex,
          computeSigningRoot(
            ssz.altair.SyncAggregatorSelectionData,
            selectionData,
            config.getDomain(slot, DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF),
          ),
        );
        if (!isSyncCommitteeAggregator(selectionProof)) continue;
        // Every member signed a message over this root at 1/3 of the slot: the pool must have a contribution.
        const res = await api.validator.produceSyncCommitteeContribution({
          slot,
          subcommitteeIndex: sub,
          beaconBlockRoot: headRoot,
        });
        assert.ok(
          res.ok,
          `slot ${slot} subcommittee ${sub}: no contribution (HTTP ${res.status}: ${await res.errorBody().catch(() => "")})`,
        );
        const message = {aggregatorIndex: d.validatorIndex, contribution: res.value(), selectionProof};
        const signature = sign(
          d.validatorIndex,
          computeSigningRoot(
            ssz.altair.ContributionAndProof,
            message,
            config.getDomain(slot, DOMAIN_CONTRIBUTION_AND_PROOF),
          ),
        );
        contributions.push({message, signature});
      }
    }
    if (contributions.length > 0) {
      (await api.validator.publishContributionAndProofs({contributionAndProofs: contributions})).assertOk();
      contributionsPublished += contributions.length;
    }
  }

  it("runs every duty for 5 epochs; the chain justifies and finalizes", async () => {
    const firstSlot = Math.max(1, Math.floor((Date.now() - devnet.genesisTime * 1000) / SLOT_MS) + 1);
    for (let slot = firstSlot; slot < EPOCHS * SLOTS_PER_EPOCH; slot++) {
      await waitUntil(slotStart(slot));
      await propose(slot);
      await waitUntil(slotStart(slot) + SLOT_MS / 3);
      const attested = await attest(slot);
      await waitUntil(slotStart(slot) + (2 * SLOT_MS) / 3);
      await aggregate(slot, attested);
    }
    const cp = (await api.beacon.getStateFinalityCheckpoints({stateId: "head"})).value();
    assert.ok(cp.currentJustified.epoch >= 3, `justified epoch ${cp.currentJustified.epoch}`);
    assert.ok(
      cp.finalized.epoch >= 2,
      `finalized epoch ${cp.finalized.epoch}; devnet stderr: ${devnet.stderr().slice(-2000)}`,
    );
    assert.ok(blocksPublished >= EPOCHS * SLOTS_PER_EPOCH - 10);
    assert.ok(aggregatesPublished > 0, "no aggregator was selected in 5 epochs");
    assert.ok(contributionsPublished > 0, "no sync contribution was published");
  });

  it("packs every sync committee message into the next block's sync aggregate", async () => {
    // Every validator signs every slot's message and every aggregator publishes: each block of the last
    // epoch must carry the whole committee, not just some of it.
    const short: string[] = [];
    for (let slot = (EPOCHS - 1) * SLOTS_PER_EPOCH; slot < EPOCHS * SLOTS_PER_EPOCH; slot++) {
      const block = (await api.beacon.getBlockV2({blockId: slot})).value().message as electra.BeaconBlock;
      const bits = block.body.syncAggregate.syncCommitteeBits.getTrueBitIndexes().length;
      if (bits < SYNC_COMMITTEE_SIZE) short.push(`slot ${slot}: ${bits}`);
    }
    assert.deepEqual(short, [], `blocks with fewer than ${SYNC_COMMITTEE_SIZE} sync bits`);
  });

  it("refuses a wrong signature, a previous-fork domain and a future slot with 400 and a reason", () => {
    assert.equal(refusals.length, 3);
    for (const r of refusals) assert.equal(r.status, 400, `${r.what}: ${r.message}`);
    assert.deepEqual(
      refusals.map((r) => r.what),
      ["wrong signature", "wrong domain", "future slot"],
    );
    assert.match(refusals[0]?.message ?? "", /invalid signature of validator/);
    assert.match(refusals[1]?.message ?? "", /invalid signature of validator .*domain/);
    assert.match(refusals[2]?.message ?? "", /in the future/);
  });

  it("refuses a block signed with the wrong key with 400 and the state transition's reason", () => {
    assert.ok(badBlock, "the bad block was not sent");
    assert.equal(badBlock.status, 400);
    assert.match(badBlock.message, /block failed the state transition: .*signature/i);
  });

  it("shows every attestation included with the correct target, and the victim's miss with its reason", async () => {
    const {body} = await getJson<Report>(`${devnet.url}/r3dv/v1/effectiveness?from_epoch=1&to_epoch=3`);
    assert.equal(body.data.epochs.length, 3);
    for (const e of body.data.epochs) {
      assert.equal(e.validators.length, VALIDATORS);
      for (const v of e.validators) {
        if (e.epoch === VICTIM_EPOCH && v.index === victim) {
          assert.equal(v.included, false);
          assert.match(v.refused ?? "", /in the future|invalid signature/);
          continue;
        }
        assert.ok(v.included, `validator ${v.index} epoch ${e.epoch} not included`);
        assert.ok(v.correct_target && v.correct_source, `validator ${v.index} epoch ${e.epoch} wrong source or target`);
      }
    }
  });
});
