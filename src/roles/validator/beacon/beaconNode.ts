import {type ApiClient, getClient} from "@lodestar/api";
import type {BeaconConfig} from "@lodestar/config";
import {createHash} from "node:crypto";
import {
  type Attestation,
  type Epoch,
  type Slot,
  type altair,
  type bellatrix,
  type phase0,
  ssz,
  sszTypesFor,
} from "@lodestar/types";
import type {ForkPostElectra} from "@lodestar/params";
import {BitArray} from "@chainsafe/ssz";
import {fromHex, toHex} from "../../../hotpath/bytes.js";
import {BeaconCalls, readSsz} from "./beaconCalls.js";
import {BEACON_TIMEOUT_MS, getJson, postJson, postJsonFor} from "./beaconHttp.js";
import {BlockProduction} from "./blockProduction.js";
import type {BeaconEndpoint} from "./beaconEndpoint.js";
import {BeaconSet} from "./beaconSet.js";
import {cappedFetch} from "./cappedFetch.js";
import {emptyPoolAsRefusal} from "./emptyPool.js";
import {BeaconError} from "./errors.js";
import type {ItemFailures} from "./submitFailures.js";
import {
  attesterDutiesResponse,
  committeesResponse,
  headerResponse,
  objectData,
  proposerDutiesResponse,
  syncDutiesResponse,
  livenessResponse,
  versionedData,
  versionedList,
} from "./dutySchema.js";
import {syncingResponse, validatorResponse, validatorsResponse} from "./specSchema.js";
import type {SlotClock} from "../schedule/slotClock.js";
import {isElectraAt, readChain} from "./chainConfig.js";
import type {
  AttesterDuty,
  BeaconCommitteeSubscription,
  ProposerDuty,
  ProposerPreparation,
  SignedAttestationInput,
  SyncCommitteeSubscription,
  SyncDuty,
} from "./types.js";

export {BEACON_TIMEOUT_MS} from "./beaconHttp.js";

/** The spec's FAR_FUTURE_EPOCH (2^64 - 1) as the Beacon API writes it: no exit initiated. */
const FAR_FUTURE_EPOCH = "18446744073709551615";

/**
 * The validator's view of its beacon nodes (a `BeaconSet`: reads fail over in health and latency order,
 * submissions go to every healthy node). Spec, genesis and fork schedule are read from a node, never
 * assumed; request and response bodies are checked, so a garbage answer is an error that names the node
 * and the route, not a wrong signature later.
 *
 * Every request goes through `read` or `submit` with a function of one node (`e`). Reads are raw routes,
 * `getJson(e, …)` with a schema that requires what the duty needs and tolerates metadata (dutySchema.ts);
 * submissions, whose answers carry nothing to parse, go through Lodestar's client (`this.calls.call(e, route, …)`,
 * beaconCalls.ts). A proposal's block calls are blockProduction.ts's.
 */
export class BeaconNode {
  private constructor(
    readonly set: BeaconSet,
    readonly config: BeaconConfig,
    /** The chain's time, from this node's genesis and spec: every duty reads the slot and its due times here. */
    readonly clock: SlotClock,
    apis: Map<BeaconEndpoint, ApiClient>,
    /** Whether this client started the set's probe (and so stops it on close). */
    private readonly ownsSet: boolean,
  ) {
    this.calls = new BeaconCalls(config, apis);
    this.blocks = new BlockProduction(set, config, this.calls);
  }

  private readonly calls: BeaconCalls;
  /** A proposal's calls: the block to sign, local or a builder's, and its publication. */
  readonly blocks: BlockProduction;

  /**
   * Reads genesis and spec from the first node that answers. Given URLs, the client owns a new set and its
   * health probe; given a set (the node runtime shares one with readiness and status), it uses that one.
   */
  static async connect(urlsOrSet: string[] | BeaconSet): Promise<BeaconNode> {
    const owned = Array.isArray(urlsOrSet);
    const set = owned ? new BeaconSet(urlsOrSet) : urlsOrSet;
    const {config, clock} = await readChain(set);
    // One Lodestar client per node, each with one URL: failover and health are the set's, not the library's.
    const apis = new Map<BeaconEndpoint, ApiClient>(
      set.endpoints.map((e) => [
        e,
        getClient(
          {baseUrl: e.url, globalInit: {timeoutMs: BEACON_TIMEOUT_MS, headers: e.headers}, fetch: cappedFetch},
          {config},
        ),
      ]),
    );
    if (owned) set.start();
    return new BeaconNode(set, config, clock, apis, owned);
  }

  /** Stops the health probe if this client started it. */
  close(): void {
    if (this.ownsSet) this.set.stop();
  }

  /** Every node, redacted. */
  get urls(): string[] {
    return this.set.labels;
  }

  /** The node reads go to now (redacted). */
  get url(): string {
    return (this.set.ordered()[0] ?? this.set.endpoints[0])?.label ?? "";
  }

  get genesisValidatorsRoot(): Uint8Array {
    return this.config.genesisValidatorsRoot;
  }

  isElectra(slot: Slot): boolean {
    return isElectraAt(this.config, slot);
  }

  async syncing(): Promise<{headSlot: number; syncDistance: number; isSyncing: boolean; isOptimistic: boolean}> {
    const res = await this.read("/eth/v1/node/syncing", (e) => getJson(e, "/eth/v1/node/syncing", syncingResponse));
    return {
      headSlot: Number(res.data.head_slot),
      syncDistance: Number(res.data.sync_distance),
      isSyncing: res.data.is_syncing,
      isOptimistic: res.data.is_optimistic ?? false,
    };
  }

  /** Validator indices of the given public keys; keys the chain does not know are absent from the map. */
  async validatorIndices(pubkeys: string[]): Promise<Map<string, number>> {
    // Read raw, not through the client library: nodes older than the library omit metadata it insists on,
    // and the POST form is newer than some nodes still in use (they answer 404/405 and serve the GET form).
    const route = "/eth/v1/beacon/states/head/validators";
    const res = await this.read(route, async (e) => {
      try {
        return await postJsonFor(e, route, {ids: pubkeys}, validatorsResponse);
      } catch (err) {
        if (!(err instanceof BeaconError && [404, 405].includes((err.type as {status?: number}).status ?? 0)))
          throw err;
        return getJson(e, `${route}?${pubkeys.map((p) => `id=${p}`).join("&")}`, validatorsResponse);
      }
    });
    return new Map(res.data.map((v) => [v.validator.pubkey.toLowerCase(), Number(v.index)]));
  }

  /**
   * One validator by index or 0x pubkey at the head: its index, key, status and exit epoch (`undefined` while no
   * exit is initiated, the spec's FAR_FUTURE_EPOCH).
   */
  async validatorState(
    id: number | string,
  ): Promise<{index: number; pubkey: string; status: string; exitEpoch: number | undefined}> {
    const route = `/eth/v1/beacon/states/head/validators/${id}`;
    const res = await this.read(route, (e) => getJson(e, route, validatorResponse));
    const exit = res.data.validator.exit_epoch;
    return {
      index: Number(res.data.index),
      pubkey: res.data.validator.pubkey.toLowerCase(),
      status: res.data.status,
      exitEpoch: exit === FAR_FUTURE_EPOCH ? undefined : Number(exit),
    };
  }

  /** `POST /eth/v1/beacon/pool/voluntary_exits`, to every healthy beacon node. */
  async submitVoluntaryExit(signedVoluntaryExit: phase0.SignedVoluntaryExit): Promise<void> {
    const route = "submitPoolVoluntaryExit";
    return this.submit(route, (e) =>
      this.calls.call(e, route, () => this.calls.api(e).beacon.submitPoolVoluntaryExit({signedVoluntaryExit})),
    );
  }

  /**
   * The duty reads below go through raw routes with their own schemas, not the client library: the library
   * refuses a whole body when metadata it insists on is missing (`finalized`, which Lodestar 1.5.1 never sends,
   * `dependent_root`, `version`), although none of it changes what a validator signs. See dutySchema.ts.
   */
  async attesterDuties(epoch: Epoch, indices: number[]): Promise<{dependentRoot: string; duties: AttesterDuty[]}> {
    const route = `/eth/v1/validator/duties/attester/${epoch}`;
    const res = await this.read(route, (e) => postJsonFor(e, route, indices.map(String), attesterDutiesResponse));
    const duties = res.data.map((d) => ({
      pubkey: d.pubkey.toLowerCase(),
      validatorIndex: Number(d.validator_index),
      committeeIndex: Number(d.committee_index),
      committeeLength: Number(d.committee_length),
      committeesAtSlot: Number(d.committees_at_slot),
      validatorCommitteeIndex: Number(d.validator_committee_index),
      slot: Number(d.slot),
    }));
    return {dependentRoot: dependentKey(res.dependent_root, res.data), duties};
  }

  async proposerDuties(epoch: Epoch): Promise<{dependentRoot: string; duties: ProposerDuty[]}> {
    const route = `/eth/v1/validator/duties/proposer/${epoch}`;
    const res = await this.read(route, (e) => getJson(e, route, proposerDutiesResponse));
    const duties = res.data.map((d) => ({
      pubkey: d.pubkey.toLowerCase(),
      validatorIndex: Number(d.validator_index),
      slot: Number(d.slot),
    }));
    return {dependentRoot: dependentKey(res.dependent_root, res.data), duties};
  }

  async attestationData(slot: Slot, committeeIndex: number): Promise<phase0.AttestationData> {
    const route = `/eth/v1/validator/attestation_data?slot=${slot}&committee_index=${committeeIndex}`;
    // Read inside the set's read: a node answering garbage is passed over for the next one.
    return this.read(route, async (e) => {
      const res = await getJson(e, route, objectData);
      return readSsz(e, route, "attestation data", () => ssz.phase0.AttestationData.fromJson(res.data));
    });
  }

  /**
   * Publishes attestations in the fork's format: Electra's `SingleAttestation` on the v2 pool, and before
   * Electra a phase0 `Attestation` with one aggregation bit on the v1 pool (the v1 route predates the client
   * library, which only speaks v2, so it is posted here directly). Resolves with the attestations no beacon
   * node took, by position.
   */
  async submitAttestations(atts: SignedAttestationInput[]): Promise<ItemFailures> {
    if (atts.length === 0) return new Map();
    const slot = atts[0]?.data.slot as number;
    if (this.isElectra(slot)) {
      const signedAttestations = atts.map((a) => ({
        committeeIndex: a.committeeIndex,
        attesterIndex: a.validatorIndex,
        data: a.data,
        signature: a.signature,
      }));
      const route = "submitPoolAttestationsV2";
      return this.set.submitItems(route, signedAttestations, (e, items) =>
        this.calls.callBatch(e, route, items.length, () =>
          this.calls.api(e).beacon.submitPoolAttestationsV2({signedAttestations: items}),
        ),
      );
    }
    const body = atts.map((a) =>
      ssz.phase0.Attestation.toJson({
        aggregationBits: BitArray.fromSingleBit(a.committeeLength, a.validatorCommitteeIndex),
        data: a.data,
        signature: a.signature,
      }),
    );
    const route = "/eth/v1/beacon/pool/attestations";
    return this.set.submitItems(route, body, (e, items) => postJson(e, route, items));
  }

  /** The best aggregate the node holds for this attestation data (v1 before Electra, v2 with the committee after). */
  async aggregateAttestation(slot: Slot, dataRoot: Uint8Array, committeeIndex: number): Promise<Attestation> {
    const query = `attestation_data_root=${toHex(dataRoot)}&slot=${slot}`;
    if (this.isElectra(slot)) {
      const route = `/eth/v2/validator/aggregate_attestation?${query}&committee_index=${committeeIndex}`;
      return this.read(route, async (e) => {
        const res = await getJson(e, route, versionedData).catch(emptyPoolAsRefusal);
        const fork = this.calls.forkOf(e, route, slot, res.version);
        return readSsz(e, route, "aggregate", () =>
          sszTypesFor(fork as ForkPostElectra).Attestation.fromJson(res.data),
        );
      });
    }
    const route = `/eth/v1/validator/aggregate_attestation?${query}`;
    // Read inside the set's read: a node answering garbage is passed over for the next one.
    return this.read(route, async (e) => {
      const res = await getJson(e, route, objectData).catch(emptyPoolAsRefusal);
      return readSsz(e, route, "aggregate", () => ssz.phase0.Attestation.fromJson(res.data));
    });
  }

  /** Resolves with the aggregates no beacon node took, by position. */
  async publishAggregates(slot: Slot, signed: {message: unknown; signature: Uint8Array}[]): Promise<ItemFailures> {
    if (this.isElectra(slot)) {
      const route = "publishAggregateAndProofsV2";
      return this.set.submitItems(route, signed, (e, items) =>
        this.calls.callBatch(e, route, items.length, () =>
          this.calls.api(e).validator.publishAggregateAndProofsV2({signedAggregateAndProofs: items as never}),
        ),
      );
    }
    const route = "/eth/v1/validator/aggregate_and_proofs";
    const body = signed.map((s) => ssz.phase0.SignedAggregateAndProof.toJson(s as never));
    return this.set.submitItems(route, body, (e, items) => postJson(e, route, items));
  }

  /** A read: the first healthy node (latency-aware order) that answers; the next on failure. */
  private read<T>(route: string, f: (e: BeaconEndpoint) => Promise<T>): Promise<T> {
    return this.set.read(route, f);
  }

  /** A submission: every healthy node at once; done when one accepts (or already knew the message). */
  private submit(route: string, f: (e: BeaconEndpoint) => Promise<void>): Promise<void> {
    return this.set.submit(route, f);
  }

  /** Every committee of a slot, as validator indices in committee order (for reading aggregation bits). */
  async committeesAt(slot: Slot): Promise<Map<number, number[]>> {
    const route = `/eth/v1/beacon/states/head/committees?epoch=${this.clock.epochOf(slot)}&slot=${slot}`;
    const res = await this.read(route, (e) => getJson(e, route, committeesResponse));
    return new Map(
      res.data.filter((c) => Number(c.slot) === slot).map((c) => [Number(c.index), c.validators.map(Number)]),
    );
  }

  /**
   * The attestations a block carries, or null when the slot has no block (a 404 is an answer, not a failure).
   * Before Electra through v1, the route nodes of that time serve (Lodestar 1.5.1 has no v2).
   */
  blockAttestations(blockSlot: Slot): Promise<Attestation[] | null> {
    const electra = this.isElectra(blockSlot);
    const route = `/eth/${electra ? "v2" : "v1"}/beacon/blocks/${blockSlot}/attestations`;
    return this.read(route, async (e) => {
      const res = await getJson(e, route, versionedList).catch((err: unknown) => {
        if (err instanceof BeaconError && (err.type as {status?: number}).status === 404) return null;
        throw err;
      });
      if (res === null) return null;
      const type = electra
        ? sszTypesFor(this.calls.forkOf(e, route, blockSlot, res.version) as ForkPostElectra).Attestation
        : ssz.phase0.Attestation;
      return readSsz(e, route, "attestation list", () => res.data.map((a) => type.fromJson(a)));
    });
  }

  // ---- sync committee and subnet subscriptions ----

  /** This epoch's sync committee members among `indices`, with their positions in the committee (Altair and later). */
  async syncCommitteeDuties(epoch: Epoch, indices: number[]): Promise<SyncDuty[]> {
    const route = `/eth/v1/validator/duties/sync/${epoch}`;
    const res = await this.read(route, (e) => postJsonFor(e, route, indices.map(String), syncDutiesResponse));
    return res.data.map((d) => ({
      pubkey: d.pubkey.toLowerCase(),
      validatorIndex: Number(d.validator_index),
      validatorSyncCommitteeIndices: d.validator_sync_committee_indices.map(Number),
    }));
  }

  /**
   * Which of `indices` the beacon node saw signing in `epoch` (attesting, aggregating or proposing, by gossip or
   * in blocks): doppelganger protection's question. Nodes answer the current and the previous epoch.
   */
  async liveness(epoch: Epoch, indices: number[]): Promise<Map<number, boolean>> {
    const route = `/eth/v1/validator/liveness/${epoch}`;
    const res = await this.read(route, (e) => postJsonFor(e, route, indices.map(String), livenessResponse));
    return new Map(res.data.map((d) => [Number(d.index), d.is_live]));
  }

  /** The node's head block (slot and root): a sync committee message signs its root. */
  async headBlock(): Promise<{slot: Slot; root: Uint8Array}> {
    const route = "/eth/v1/beacon/headers/head";
    const res = await this.read(route, (e) => getJson(e, route, headerResponse));
    return {slot: Number(res.data.header.message.slot), root: fromHex(res.data.root)};
  }

  /** Resolves with the messages no beacon node took, by position. */
  async submitSyncCommitteeMessages(signatures: altair.SyncCommitteeMessage[]): Promise<ItemFailures> {
    if (signatures.length === 0) return new Map();
    const route = "submitPoolSyncCommitteeSignatures";
    return this.set.submitItems(route, signatures, (e, items) =>
      this.calls.callBatch(e, route, items.length, () =>
        this.calls.api(e).beacon.submitPoolSyncCommitteeSignatures({signatures: items}),
      ),
    );
  }

  async syncCommitteeContribution(
    slot: Slot,
    subcommitteeIndex: number,
    beaconBlockRoot: Uint8Array,
  ): Promise<altair.SyncCommitteeContribution> {
    const route = `/eth/v1/validator/sync_committee_contribution?slot=${slot}&subcommittee_index=${subcommitteeIndex}&beacon_block_root=${toHex(beaconBlockRoot)}`;
    // Read inside the set's read: a node answering garbage is passed over for the next one.
    return this.read(route, async (e) => {
      const res = await getJson(e, route, objectData).catch(emptyPoolAsRefusal);
      return readSsz(e, route, "contribution", () => ssz.altair.SyncCommitteeContribution.fromJson(res.data));
    });
  }

  /** Resolves with the contributions no beacon node took, by position. */
  async publishContributions(contributionAndProofs: altair.SignedContributionAndProof[]): Promise<ItemFailures> {
    if (contributionAndProofs.length === 0) return new Map();
    const route = "publishContributionAndProofs";
    return this.set.submitItems(route, contributionAndProofs, (e, items) =>
      this.calls.callBatch(e, route, items.length, () =>
        this.calls.api(e).validator.publishContributionAndProofs({contributionAndProofs: items}),
      ),
    );
  }

  /**
   * `POST /eth/v1/validator/beacon_committee_subscriptions`: the node joins the subnets, and aggregates where
   * `isAggregator`. Sent to every beacon node, since whichever one serves the aggregate must have subscribed.
   */
  async prepareBeaconCommitteeSubnets(subscriptions: BeaconCommitteeSubscription[]): Promise<void> {
    if (subscriptions.length === 0) return;
    const route = "prepareBeaconCommitteeSubnet";
    return this.submit(route, (e) =>
      this.calls.call(e, route, () => this.calls.api(e).validator.prepareBeaconCommitteeSubnet({subscriptions})),
    );
  }

  /** `POST /eth/v1/validator/sync_committee_subscriptions`: the node joins the sync subnets until `untilEpoch`. */
  async prepareSyncCommitteeSubnets(subscriptions: SyncCommitteeSubscription[]): Promise<void> {
    if (subscriptions.length === 0) return;
    const route = "prepareSyncCommitteeSubnets";
    return this.submit(route, (e) =>
      this.calls.call(e, route, () => this.calls.api(e).validator.prepareSyncCommitteeSubnets({subscriptions})),
    );
  }

  /**
   * `POST /eth/v1/validator/register_validator`, to every healthy beacon node: each passes the registrations on to
   * its builder (MEV-boost or a relay), which pays the registered fee recipient in the blocks it builds for them.
   */
  async registerValidator(registrations: bellatrix.SignedValidatorRegistrationV1[]): Promise<void> {
    if (registrations.length === 0) return;
    const route = "registerValidator";
    return this.submit(route, (e) =>
      this.calls.call(e, route, () => this.calls.api(e).validator.registerValidator({registrations})),
    );
  }

  /**
   * `POST /eth/v1/validator/prepare_beacon_proposer`: the fee recipient each validator's blocks must pay. Sent
   * to every beacon node, since whichever one serves the block must know it; a node keeps it until restarted.
   */
  async prepareBeaconProposer(proposers: ProposerPreparation[]): Promise<void> {
    if (proposers.length === 0) return;
    const route = "prepareBeaconProposer";
    return this.submit(route, (e) =>
      this.calls.call(e, route, () => this.calls.api(e).validator.prepareBeaconProposer({proposers})),
    );
  }
}

/**
 * The key a duties answer is cached under: its `dependent_root`, or where a node omits it (optional in older
 * specs) or sends something that is not a root, a digest of the duties themselves, so a changed shuffling
 * still replaces them.
 */
function dependentKey(dependentRoot: unknown, duties: unknown): string {
  if (typeof dependentRoot === "string" && /^0x[0-9a-fA-F]{64}$/.test(dependentRoot)) return dependentRoot;
  return `duties:${createHash("sha256").update(JSON.stringify(duties)).digest("hex")}`;
}
