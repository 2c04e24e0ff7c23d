import type {BeaconConfig} from "@lodestar/config";
import type {Slot, electra} from "@lodestar/types";
import {toHex} from "../../../hotpath/bytes.js";
import {type BeaconCalls, readSsz} from "./beaconCalls.js";
import {getJson, postJson} from "./beaconHttp.js";
import {isElectraAt} from "./chainConfig.js";
import type {BeaconEndpoint} from "./beaconEndpoint.js";
import type {BeaconSet} from "./beaconSet.js";
import {versionedData} from "./dutySchema.js";
import {BeaconError} from "./errors.js";
import type {ProducedBlock, ProducedBlindedBlock, ProposedBlock} from "./types.js";

/** Graffiti is 32 bytes; the API takes it as hex. */
function encodeGraffiti(text: string): string {
  const b = Buffer.alloc(32);
  Buffer.from(text, "utf8").copy(b, 0, 0, 32);
  return "0x" + b.toString("hex");
}

/**
 * A proposal's calls to the beacon nodes: the block to sign (local, or the builder's bid through the builder API) and
 * its publication. Reads fail over across the set; publications go to every healthy node.
 */
export class BlockProduction {
  constructor(
    private readonly set: BeaconSet,
    private readonly config: BeaconConfig,
    private readonly calls: BeaconCalls,
  ) {}

  /**
   * Asks a beacon node for a block. Before Electra through the v2 route (the one every such node serves),
   * from Electra on through v3 with a locally built (never blinded) payload, returning its block contents.
   * `local` asks for a block built by the beacon node itself even if it has a builder (builder_boost_factor=0):
   * the fallback when the builder path failed or ran over its time.
   */
  async produceBlock(slot: Slot, randaoReveal: Uint8Array, graffiti: string, local = false): Promise<ProducedBlock> {
    const query = `randao_reveal=${toHex(randaoReveal)}&graffiti=${encodeGraffiti(graffiti)}`;
    if (isElectraAt(this.config, slot)) {
      return (await this.produceBlockV3(slot, randaoReveal, graffiti, local ? 0n : undefined, false)) as ProducedBlock;
    }
    const route = `/eth/v2/validator/blocks/${slot}?${query}`;
    return this.set.read(route, async (e) => {
      const res = await getJson(e, route, versionedData);
      const fork = this.calls.forkOf(e, route, slot, res.version);
      return {
        fork,
        block: readSsz(e, route, "block", () => this.config.getForkTypes(slot).BeaconBlock.fromJson(res.data)),
      };
    });
  }

  /**
   * Electra on, through the builder API: the beacon node's choice between its builder's bid (weighted by
   * `boostFactor` percent against its local block, as `builder_boost_factor` says) and a local block, blinded
   * when the builder's won. Before Electra, a local block. `signal` abandons the request (the proposal fell back to
   * a local block): no other beacon node is asked, and the one asked is not held at fault.
   */
  async produceBuilderBlock(
    slot: Slot,
    randaoReveal: Uint8Array,
    graffiti: string,
    boostFactor: bigint,
    signal?: AbortSignal,
  ): Promise<ProposedBlock> {
    // Before Electra, builders' blocks are not offered: r3dv's consensus value for a blinded block is Electra's.
    if (!isElectraAt(this.config, slot)) return this.produceBlock(slot, randaoReveal, graffiti);
    return this.produceBlockV3(slot, randaoReveal, graffiti, boostFactor, true, signal);
  }

  /**
   * Through the client, which asks for SSZ: a block with its execution payload in JSON costs a proposal a few
   * hundred ms of parsing on a busy node (enough to push consensus into round 2 on 2 s slots). Beacon nodes new
   * enough for Electra send this route's metadata; the lenient JSON path is for older ones.
   */
  private produceBlockV3(
    slot: Slot,
    randaoReveal: Uint8Array,
    graffiti: string,
    builderBoostFactor: bigint | undefined,
    acceptBlinded: boolean,
    signal?: AbortSignal,
  ): Promise<ProposedBlock> {
    const route = "produceBlockV3";
    const read = async (e: BeaconEndpoint): Promise<ProposedBlock> => {
      const res = await this.calls.request(e, route, () =>
        this.calls.api(e).validator.produceBlockV3(
          {
            slot,
            randaoReveal,
            graffiti,
            blindedLocal: false,
            ...(builderBoostFactor === undefined ? {} : {builderBoostFactor}),
          },
          signal ? {signal} : undefined,
        ),
      );
      const value = this.calls.value(e, route, res);
      const fork = this.config.getForkName(slot);
      if ((res.meta() as {executionPayloadBlinded: boolean}).executionPayloadBlinded) {
        if (!acceptBlinded)
          throw new BeaconError(
            {code: "BEACON_BAD_RESPONSE", url: e.label, route, reason: "blinded block"},
            `beacon node ${e.label} returned a blinded block where a local one was asked for; run with --builder on to propose builders' blocks`,
          );
        return {fork, blinded: value as electra.BlindedBeaconBlock};
      }
      const contents = value as electra.BlockContents;
      return {fork, block: contents.block, contents};
    };
    return this.set.read(route, read, signal ? {signal} : {});
  }

  /**
   * A signed builder block: its beacon node hands it to the builder, which reveals the payload and broadcasts the
   * full block (`publishBlindedBlockV2`). Every healthy beacon node is asked, as for a full block.
   */
  async publishBlindedBlock(produced: ProducedBlindedBlock, signature: Uint8Array): Promise<void> {
    const route = "publishBlindedBlockV2";
    return this.set.submit(route, (e) =>
      this.calls.call(e, route, () =>
        this.calls.api(e).beacon.publishBlindedBlockV2({signedBlindedBlock: {message: produced.blinded, signature}}),
      ),
    );
  }

  async publishBlock(produced: ProducedBlock, signature: Uint8Array): Promise<void> {
    const slot = produced.block.slot;
    if (produced.contents) {
      const signedBlockOrContents = {
        signedBlock: {message: produced.block, signature},
        kzgProofs: produced.contents.kzgProofs,
        blobs: produced.contents.blobs,
      };
      const route = "publishBlockV2";
      return this.set.submit(route, (e) =>
        this.calls.call(e, route, () =>
          this.calls.api(e).beacon.publishBlockV2({signedBlockContents: signedBlockOrContents as never}),
        ),
      );
    }
    const signed = this.config
      .getForkTypes(slot)
      .SignedBeaconBlock.toJson({message: produced.block as never, signature});
    const route = "/eth/v1/beacon/blocks";
    return this.set.submit(route, (e) => postJson(e, route, signed));
  }
}
