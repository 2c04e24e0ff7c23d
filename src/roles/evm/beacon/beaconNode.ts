import {type ApiClient, getClient} from "@lodestar/api";
import {type BeaconConfig, chainConfigFromJson, createBeaconConfig, createChainForkConfig} from "@lodestar/config";
import {mainnetChainConfig, minimalChainConfig} from "@lodestar/config/configs";
import {ACTIVE_PRESET, ForkSeq, SLOTS_PER_EPOCH} from "@lodestar/params";
import {type Attestation, type BeaconBlock, type Epoch, type Slot, type electra, type phase0, ssz} from "@lodestar/types";
import type {ForkName} from "@lodestar/params";
import {BitArray} from "@chainsafe/ssz";
import type {z} from "zod";
import {fromHex, toHex} from "../../../hotpath/bytes.js";
import {errorMessage} from "../../../util/errors.js";
import {BeaconError} from "./errors.js";
import {dataResponse, genesisResponse, producedBlockResponse, specResponse, syncingResponse, validatorsResponse} from "./specSchema.js";

/**
 * A beacon node request that takes longer than this is treated as failed: Charon's health checks call a beacon
 * node unhealthy beyond 1 s, and an attestation has a third of a slot (4 s on mainnet) for everything.
 */
export const BEACON_TIMEOUT_MS = 2_000;

export interface AttesterDuty {
  pubkey: string;
  validatorIndex: number;
  committeeIndex: number;
  committeeLength: number;
  committeesAtSlot: number;
  validatorCommitteeIndex: number;
  slot: Slot;
}

export interface ProposerDuty {
  pubkey: string;
  validatorIndex: number;
  slot: Slot;
}

export interface ProducedBlock {
  fork: ForkName;
  block: BeaconBlock;
  /** Electra and later: the contents (blobs and proofs) that publishing needs beside the signed block. */
  contents?: electra.BlockContents;
}

/** Graffiti is 32 bytes; the API takes it as hex. */
function encodeGraffiti(text: string): string {
  const b = Buffer.alloc(32);
  Buffer.from(text, "utf8").copy(b, 0, 0, 32);
  return "0x" + b.toString("hex");
}

/** One validator's signed attestation, in the shape both the v1 (pre-Electra) and v2 (Electra) pools derive from. */
export interface SignedAttestationInput {
  data: phase0.AttestationData;
  validatorIndex: number;
  committeeIndex: number;
  committeeLength: number;
  validatorCommitteeIndex: number;
  signature: Uint8Array;
}

function getJson<T>(url: string, route: string, schema: z.ZodType<T>): Promise<T> {
  return requestJson(url, route, schema, {headers: {accept: "application/json"}});
}

function postJsonFor<T>(url: string, route: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
  return requestJson(url, route, schema, {method: "POST", headers: {accept: "application/json", "content-type": "application/json"}, body: JSON.stringify(body)});
}

async function requestJson<T>(url: string, route: string, schema: z.ZodType<T>, init: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url + route, {...init, signal: AbortSignal.timeout(BEACON_TIMEOUT_MS)});
  } catch (e) {
    throw new BeaconError({code: "BEACON_UNREACHABLE", urls: [url], reason: errorMessage(e)}, `beacon node ${url} did not answer ${route}: ${errorMessage(e)}`);
  }
  const text = await res.text();
  if (!res.ok) {
    throw new BeaconError({code: "BEACON_BAD_RESPONSE", url, route, status: res.status, reason: text.slice(0, 200)}, `beacon node ${url} answered ${route} with HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BeaconError({code: "BEACON_BAD_RESPONSE", url, route, status: res.status, reason: "not JSON"}, `beacon node ${url} answered ${route} with something that is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "(root)";
    throw new BeaconError(
      {code: "BEACON_BAD_RESPONSE", url, route, status: res.status, reason: `${field}: ${issue?.message}`},
      `beacon node ${url} answered ${route} with an invalid body: ${field}: ${issue?.message}`,
    );
  }
  return parsed.data;
}

/**
 * The validator's view of a beacon node (or several: reads try each URL in order until one answers). Spec,
 * genesis and fork schedule are read from the node, never assumed; request and response bodies are checked,
 * so a garbage answer is an error that names the node and the route, not a wrong signature later.
 */
export class BeaconNode {
  private constructor(
    readonly urls: string[],
    readonly url: string,
    readonly config: BeaconConfig,
    readonly genesisTime: number,
    readonly slotMs: number,
    /** The node's ATTESTATION_DUE_BPS (Gloas and later specs); undefined means the classic third of a slot. */
    private readonly attestationDueBps: number | undefined,
    private readonly api: ApiClient,
  ) {}

  static async connect(urls: string[]): Promise<BeaconNode> {
    const errors: string[] = [];
    for (const url of urls.map((u) => u.replace(/\/+$/, ""))) {
      try {
        const [genesis, spec] = await Promise.all([getJson(url, "/eth/v1/beacon/genesis", genesisResponse), getJson(url, "/eth/v1/config/spec", specResponse)]);
        const preset = spec.data.PRESET_BASE;
        if (preset !== ACTIVE_PRESET) {
          throw new BeaconError(
            {code: "BEACON_PRESET_MISMATCH", url, nodePreset: preset, localPreset: ACTIVE_PRESET},
            `beacon node ${url} runs the ${preset} preset but r3dv was started with ${ACTIVE_PRESET}; a devnet lock selects minimal, every other network mainnet`,
          );
        }
        const base = preset === "minimal" ? minimalChainConfig : mainnetChainConfig;
        const chainConfig = createChainForkConfig({...base, ...chainConfigFromJson(spec.data as Record<string, unknown>)});
        const gvr = fromHex(genesis.data.genesis_validators_root);
        const config = createBeaconConfig(chainConfig, gvr);
        const slotMs = spec.data.SLOT_DURATION_MS !== undefined ? Number(spec.data.SLOT_DURATION_MS) : Number(spec.data.SECONDS_PER_SLOT) * 1000;
        const api = getClient({urls, globalInit: {timeoutMs: BEACON_TIMEOUT_MS}}, {config});
        const dueBps = (spec.data as Record<string, unknown>).ATTESTATION_DUE_BPS;
        return new BeaconNode(urls, url, config, Number(genesis.data.genesis_time), slotMs, dueBps === undefined ? undefined : Number(dueBps), api);
      } catch (e) {
        if (e instanceof BeaconError && e.code === "BEACON_PRESET_MISMATCH") throw e;
        errors.push(errorMessage(e));
      }
    }
    throw new BeaconError({code: "BEACON_UNREACHABLE", urls, reason: errors.join("; ")}, `no beacon node answered: ${errors.join("; ")}`);
  }

  get genesisValidatorsRoot(): Uint8Array {
    return this.config.genesisValidatorsRoot;
  }

  slotStartMs(slot: Slot): number {
    return this.genesisTime * 1000 + slot * this.slotMs;
  }

  currentSlot(nowMs = Date.now()): Slot {
    return Math.max(0, Math.floor((nowMs - this.genesisTime * 1000) / this.slotMs));
  }

  epochOf(slot: Slot): Epoch {
    return Math.floor(slot / SLOTS_PER_EPOCH);
  }

  /** When attestations are due: a third into the slot before Gloas (the spec's ATTESTATION_DUE_BPS after it). */
  attestationDueMs(slot: Slot): number {
    const bps = this.attestationDueBps;
    return this.slotStartMs(slot) + Math.floor(bps ? (this.slotMs * bps) / 10_000 : this.slotMs / 3);
  }

  isElectra(slot: Slot): boolean {
    return this.config.getForkSeq(slot) >= ForkSeq.electra;
  }

  async syncing(): Promise<{headSlot: number; syncDistance: number; isSyncing: boolean; isOptimistic: boolean}> {
    const res = await getJson(this.url, "/eth/v1/node/syncing", syncingResponse);
    return {headSlot: Number(res.data.head_slot), syncDistance: Number(res.data.sync_distance), isSyncing: res.data.is_syncing, isOptimistic: res.data.is_optimistic ?? false};
  }

  /** Validator indices of the given public keys; keys the chain does not know are absent from the map. */
  async validatorIndices(pubkeys: string[]): Promise<Map<string, number>> {
    // Read raw, not through the client library: nodes older than the library omit metadata it insists on,
    // and the POST form is newer than some nodes still in use (they answer 404/405 and serve the GET form).
    const route = "/eth/v1/beacon/states/head/validators";
    let res: z.infer<typeof validatorsResponse>;
    try {
      res = await postJsonFor(this.url, route, {ids: pubkeys}, validatorsResponse);
    } catch (e) {
      if (!(e instanceof BeaconError && [404, 405].includes((e.type as {status?: number}).status ?? 0))) throw e;
      res = await getJson(this.url, `${route}?${pubkeys.map((p) => `id=${p}`).join("&")}`, validatorsResponse);
    }
    return new Map(res.data.map((v) => [v.validator.pubkey.toLowerCase(), Number(v.index)]));
  }

  async attesterDuties(epoch: Epoch, indices: number[]): Promise<{dependentRoot: string; duties: AttesterDuty[]}> {
    const res = await this.request("getAttesterDuties", () => this.api.validator.getAttesterDuties({epoch, indices}));
    const duties = this.value("getAttesterDuties", res);
    const meta = res.meta() as {dependentRoot: string};
    return {dependentRoot: meta.dependentRoot, duties: duties.map((d) => ({...d, pubkey: toHex(d.pubkey)}))};
  }

  async proposerDuties(epoch: Epoch): Promise<{dependentRoot: string; duties: ProposerDuty[]}> {
    const res = await this.request("getProposerDuties", () => this.api.validator.getProposerDuties({epoch}));
    const duties = this.value("getProposerDuties", res);
    const meta = res.meta() as {dependentRoot: string};
    return {dependentRoot: meta.dependentRoot, duties: duties.map((d) => ({...d, pubkey: toHex(d.pubkey)}))};
  }

  async attestationData(slot: Slot, committeeIndex: number): Promise<phase0.AttestationData> {
    return this.call("produceAttestationData", () => this.api.validator.produceAttestationData({slot, committeeIndex}));
  }

  /**
   * Publishes attestations in the fork's format: Electra's `SingleAttestation` on the v2 pool, and before
   * Electra a phase0 `Attestation` with one aggregation bit on the v1 pool (the v1 route predates the client
   * library, which only speaks v2, so it is posted here directly).
   */
  async submitAttestations(atts: SignedAttestationInput[]): Promise<void> {
    if (atts.length === 0) return;
    const slot = atts[0]?.data.slot as number;
    if (this.isElectra(slot)) {
      const signedAttestations = atts.map((a) => ({committeeIndex: a.committeeIndex, attesterIndex: a.validatorIndex, data: a.data, signature: a.signature}));
      await this.call("submitPoolAttestationsV2", () => this.api.beacon.submitPoolAttestationsV2({signedAttestations}));
      return;
    }
    const body = atts.map((a) =>
      ssz.phase0.Attestation.toJson({aggregationBits: BitArray.fromSingleBit(a.committeeLength, a.validatorCommitteeIndex), data: a.data, signature: a.signature}),
    );
    await this.postJson("/eth/v1/beacon/pool/attestations", body);
  }

  /** The best aggregate the node holds for this attestation data (v1 before Electra, v2 with the committee after). */
  async aggregateAttestation(slot: Slot, dataRoot: Uint8Array, committeeIndex: number): Promise<Attestation> {
    if (this.isElectra(slot)) {
      return this.call("getAggregatedAttestationV2", () => this.api.validator.getAggregatedAttestationV2({attestationDataRoot: dataRoot, slot, committeeIndex}));
    }
    const route = `/eth/v1/validator/aggregate_attestation?attestation_data_root=${toHex(dataRoot)}&slot=${slot}`;
    const res = await getJson(this.url, route, dataResponse);
    try {
      return ssz.phase0.Attestation.fromJson(res.data);
    } catch (e) {
      throw new BeaconError({code: "BEACON_BAD_RESPONSE", url: this.url, route, reason: errorMessage(e)}, `beacon node answered ${route} with an unreadable aggregate: ${errorMessage(e)}`);
    }
  }

  async publishAggregates(slot: Slot, signed: {message: unknown; signature: Uint8Array}[]): Promise<void> {
    if (this.isElectra(slot)) {
      await this.call("publishAggregateAndProofsV2", () => this.api.validator.publishAggregateAndProofsV2({signedAggregateAndProofs: signed as never}));
      return;
    }
    await this.postJson("/eth/v1/validator/aggregate_and_proofs", signed.map((s) => ssz.phase0.SignedAggregateAndProof.toJson(s as never)));
  }

  /**
   * Asks the beacon node for a block. Before Electra through the v2 route (the one every such node serves),
   * from Electra on through v3 with a locally built (never blinded) payload, returning its block contents.
   */
  async produceBlock(slot: Slot, randaoReveal: Uint8Array, graffiti: string): Promise<ProducedBlock> {
    const fork = this.config.getForkName(slot);
    if (this.isElectra(slot)) {
      const res = await this.request("produceBlockV3", () => this.api.validator.produceBlockV3({slot, randaoReveal, graffiti, blindedLocal: false}));
      const contents = this.value("produceBlockV3", res) as electra.BlockContents;
      if ((res.meta() as {executionPayloadBlinded: boolean}).executionPayloadBlinded) {
        throw new BeaconError({code: "BEACON_BAD_RESPONSE", url: this.url, route: "produceBlockV3", reason: "blinded block"}, "beacon node returned a blinded block; r3dv does not use builders");
      }
      return {fork, block: contents.block, contents};
    }
    const route = `/eth/v2/validator/blocks/${slot}?randao_reveal=${toHex(randaoReveal)}&graffiti=${encodeGraffiti(graffiti)}`;
    const res = await getJson(this.url, route, producedBlockResponse);
    if (res.version !== fork) {
      throw new BeaconError({code: "BEACON_BAD_RESPONSE", url: this.url, route, reason: `block of fork ${res.version}, expected ${fork}`}, `beacon node produced a ${res.version} block for a ${fork} slot`);
    }
    try {
      return {fork, block: this.config.getForkTypes(slot).BeaconBlock.fromJson(res.data)};
    } catch (e) {
      throw new BeaconError({code: "BEACON_BAD_RESPONSE", url: this.url, route, reason: errorMessage(e)}, `beacon node produced an unreadable block: ${errorMessage(e)}`);
    }
  }

  async publishBlock(produced: ProducedBlock, signature: Uint8Array): Promise<void> {
    const slot = produced.block.slot;
    if (produced.contents) {
      const signedBlockOrContents = {signedBlock: {message: produced.block, signature}, kzgProofs: produced.contents.kzgProofs, blobs: produced.contents.blobs};
      await this.call("publishBlockV2", () => this.api.beacon.publishBlockV2({signedBlockContents: signedBlockOrContents as never}));
      return;
    }
    const signed = this.config.getForkTypes(slot).SignedBeaconBlock.toJson({message: produced.block as never, signature});
    await this.postJson("/eth/v1/beacon/blocks", signed);
  }

  private async postJson(route: string, body: unknown): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.url + route, {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body), signal: AbortSignal.timeout(BEACON_TIMEOUT_MS)});
    } catch (e) {
      throw new BeaconError({code: "BEACON_UNREACHABLE", urls: [this.url], reason: errorMessage(e)}, `beacon node ${this.url} did not answer ${route}: ${errorMessage(e)}`);
    }
    if (!res.ok) {
      const reason = (await res.text()).slice(0, 300);
      // Every node of the cluster submits what it recovered: the second copy is "already known", which means
      // the message is in the pool. Lodestar answers that with an error status; it is a success for us.
      if (/ALREADY_KNOWN/.test(reason)) return;
      throw new BeaconError({code: "BEACON_REFUSED", url: this.url, route, status: res.status, reason}, `beacon node ${this.url} refused ${route} (HTTP ${res.status}): ${reason}`);
    }
  }

  /** Every committee of a slot, as validator indices in committee order (for reading aggregation bits). */
  async committeesAt(slot: Slot): Promise<Map<number, number[]>> {
    const res = await this.call("getEpochCommittees", () => this.api.beacon.getEpochCommittees({stateId: "head", epoch: this.epochOf(slot), slot}));
    return new Map(res.map((c) => [c.index, c.validators]));
  }

  /** The attestations a block carries, or null when the slot has no block (404). */
  async blockAttestations(blockSlot: Slot): Promise<Attestation[] | null> {
    const res = await this.request("getBlockAttestationsV2", () => this.api.beacon.getBlockAttestationsV2({blockId: blockSlot}));
    if (res.status === 404) return null;
    return this.value("getBlockAttestationsV2", res);
  }

  private async call<T>(route: string, f: () => Promise<{ok: boolean; status: number; value(): T; error(): unknown}>): Promise<T> {
    return this.value(route, await this.request(route, f));
  }

  /** Network failures and timeouts become typed errors naming the route. */
  private async request<R>(route: string, f: () => Promise<R>): Promise<R> {
    try {
      return await f();
    } catch (e) {
      throw new BeaconError({code: "BEACON_UNREACHABLE", urls: this.urls, reason: errorMessage(e)}, `beacon node call ${route} failed: ${errorMessage(e)}`);
    }
  }

  private value<T>(route: string, res: {ok: boolean; status: number; value(): T; error(): unknown}): T {
    if (!res.ok) {
      const reason = errorMessage(res.error());
      const code = res.status >= 400 && res.status < 500 ? "BEACON_REFUSED" : "BEACON_BAD_RESPONSE";
      throw new BeaconError({code, url: this.url, route, status: res.status, reason}, `beacon node refused ${route} (HTTP ${res.status}): ${reason}`);
    }
    try {
      return res.value();
    } catch (e) {
      throw new BeaconError({code: "BEACON_BAD_RESPONSE", url: this.url, route, reason: errorMessage(e)}, `beacon node answered ${route} with an invalid body: ${errorMessage(e)}`);
    }
  }
}
