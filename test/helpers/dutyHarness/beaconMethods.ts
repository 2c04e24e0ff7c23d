import {setTimeout as sleep} from "node:timers/promises";
import {Signature, aggregateSignatures} from "@chainsafe/blst";
import {BitArray} from "@chainsafe/ssz";
import type {BeaconApiMethods} from "@lodestar/api/beacon/server";
import {ApiError} from "@lodestar/api/server";
import {chainConfigToJson} from "@lodestar/config";
import {
  ForkName,
  MAX_COMMITTEES_PER_SLOT,
  SLOTS_PER_EPOCH,
  SYNC_COMMITTEE_SUBNET_SIZE,
  activePreset,
  presetToJson,
} from "@lodestar/params";
import {ProducedBlockSource, type SignedBeaconBlock, type electra, ssz} from "@lodestar/types";
import {beaconBlockToBlinded} from "@lodestar/state-transition";
import {bytesEqual, fromHex, toHex} from "../../../src/hotpath/bytes.js";
import {IndexedApiError, type ServedNamespace} from "../../../src/devnet/api/server.js";
import type {MemoryBeacon, Operation, Received} from "./memoryBeacon.js";

/** How every failure the script asks for begins its message. */
export const SCRIPTED = "scripted:";

type Methods<K extends ServedNamespace> = Partial<BeaconApiMethods[K]>;

/** Node `node`'s beacon node: the script's answers, each operation through its RouteFault if it has one. */
export function memoryBeaconMethods(b: MemoryBeacon, node: number): Partial<Record<ServedNamespace, object>> {
  return {
    beacon: faulty(b, node, beaconMethods(b, node)),
    validator: faulty(b, node, {...dutyMethods(b), ...poolMethods(b, node), ...blockMethods(b)}),
    node: faulty(b, node, nodeMethods(b)),
    config: faulty(b, node, configMethods(b)),
  };
}

/** Every method of a namespace, slowed down, failed or altered as the operation's fault on this node says. */
function faulty<T extends object>(b: MemoryBeacon, node: number, methods: T): T {
  const entries = Object.entries(methods as Record<string, (...args: unknown[]) => Promise<unknown>>);
  return Object.fromEntries(
    entries.map(([op, fn]) => [
      op,
      async (...args: unknown[]) => {
        const found = b.faultOf(op as Operation, node);
        const f = found && (!found.when || found.when(args[0])) ? found : undefined;
        if (f?.delayMs) await sleep(f.delayMs);
        if (f?.status) throw new ApiError(f.status, `${SCRIPTED} ${op} answers HTTP ${f.status}`);
        const answer = await fn(...args);
        f?.alter?.(answer, args[0]);
        return answer;
      },
    ]),
  ) as T;
}

/** Records a submitted batch; items the operation's fault refuses make the answer 400 with indexed failures. */
function take<T>(b: MemoryBeacon, node: number, op: Operation, items: T[], into: Received<T>[]): void {
  const refuse = b.faultOf(op, node)?.refuse;
  const failures: {index: number; message: string}[] = [];
  items.forEach((item, index) => {
    const refused = refuse?.(item);
    into.push({node, item, ...(refused ? {refused} : {})});
    if (refused) failures.push({index, message: refused});
  });
  if (failures.length > 0)
    throw new IndexedApiError(400, `${SCRIPTED} ${op} refuses ${failures.length} item(s)`, failures);
}

/** Items of `list` the beacon node took (not refused), the first of each key only (later copies are gossip's duplicates). */
function taken<T>(list: Received<T>[], key: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const r of list) if (!r.refused && !seen.has(key(r.item))) seen.set(key(r.item), r.item);
  return [...seen.values()];
}

const meta = {executionOptimistic: false, finalized: false};

function beaconMethods(b: MemoryBeacon, node: number): Methods<"beacon"> {
  const validators: Methods<"beacon">["postStateValidators"] = async ({validatorIds}) => {
    const indices = (validatorIds ?? b.pubkeys.map((_, i) => i)).map((id) =>
      typeof id === "string" && id.startsWith("0x") ? b.pubkeys.indexOf(id.toLowerCase()) : Number(id),
    );
    const known = indices.filter((i) => i >= 0 && i < b.pubkeys.length);
    const data = known.map((index) => ({
      index,
      balance: 32e9,
      status: "active_ongoing" as const,
      validator: {
        ...ssz.phase0.Validator.defaultValue(),
        pubkey: fromHex(b.pubkeys[index] as string),
        effectiveBalance: 32e9,
        // The spec's FAR_FUTURE_EPOCH until the test says the chain holds an exit.
        exitEpoch: b.exitEpochs.get(index) ?? Infinity,
        withdrawableEpoch: Infinity,
      },
    }));
    return {data, meta};
  };
  return {
    getGenesis: async () => ({
      data: {
        genesisTime: b.genesisTime,
        genesisValidatorsRoot: b.config.genesisValidatorsRoot,
        genesisForkVersion: b.config.GENESIS_FORK_VERSION,
      },
    }),
    postStateValidators: validators,
    getStateValidators: validators,
    getStateValidator: async ({stateId, validatorId}) => {
      const first = (await validators({stateId, validatorIds: [validatorId]})).data[0];
      if (!first) throw new ApiError(404, `${SCRIPTED} validator ${validatorId} not found`);
      return {data: first, meta} as never;
    },
    submitPoolVoluntaryExit: async ({signedVoluntaryExit}) =>
      take(b, node, "submitPoolVoluntaryExit", [signedVoluntaryExit], b.received.exits),
    getBlockHeader: async ({blockId}) => {
      const slot = blockId === "head" ? b.currentSlot() : Number(blockId);
      const message = {
        slot,
        proposerIndex: b.proposers.get(slot) ?? 0,
        parentRoot: b.blockRoot(Math.max(0, slot - 1)),
        stateRoot: new Uint8Array(32),
        bodyRoot: new Uint8Array(32),
      };
      return {data: {root: b.blockRoot(slot), canonical: true, header: {message, signature: new Uint8Array(96)}}, meta};
    },
    submitPoolAttestationsV2: async ({signedAttestations}) =>
      take(b, node, "submitPoolAttestationsV2", signedAttestations as never[], b.received.attestations),
    submitPoolSyncCommitteeSignatures: async ({signatures}) =>
      take(b, node, "submitPoolSyncCommitteeSignatures", signatures, b.received.syncMessages),
    publishBlindedBlockV2: async ({signedBlindedBlock}) =>
      take(
        b,
        node,
        "publishBlindedBlockV2",
        [signedBlindedBlock as electra.SignedBlindedBeaconBlock],
        b.received.blindedBlocks,
      ),
    publishBlockV2: async ({signedBlockContents}) =>
      take(b, node, "publishBlockV2", [signedBlockContents.signedBlock as SignedBeaconBlock], b.received.blocks),
  };
}

/** Duties from the script; a dependent root per epoch that never changes (no reorgs here). */
function dutyMethods(b: MemoryBeacon): Methods<"validator"> {
  const dutiesMeta = (epoch: number) => ({
    executionOptimistic: false,
    dependentRoot: toHex(b.blockRoot(epoch * SLOTS_PER_EPOCH)),
  });
  const inEpoch = (slot: number, epoch: number) => Math.floor(slot / SLOTS_PER_EPOCH) === epoch;
  const pubkey = (index: number) => fromHex(b.pubkeys[index] ?? "0x" + "00".repeat(48));
  return {
    getAttesterDuties: async ({epoch, indices}) => ({
      data: b.attesterDuties
        .filter((d) => inEpoch(d.slot, epoch) && indices.includes(d.validatorIndex))
        .map((d) => ({...b.attesterDuty(d), pubkey: pubkey(d.validatorIndex)})),
      meta: dutiesMeta(epoch),
    }),
    getProposerDuties: async ({epoch}) => ({
      // Every slot has a proposer; the ones not scripted are a validator outside the cluster.
      data: Array.from({length: SLOTS_PER_EPOCH}, (_, i) => {
        const slot = epoch * SLOTS_PER_EPOCH + i;
        const validatorIndex = b.proposers.get(slot) ?? b.pubkeys.length;
        return {slot, validatorIndex, pubkey: pubkey(validatorIndex)};
      }),
      meta: dutiesMeta(epoch),
    }),
    getSyncCommitteeDuties: async ({indices}) => ({
      data: indices.flatMap((validatorIndex) => {
        const positions = b.syncCommittee.get(validatorIndex);
        return positions
          ? [{pubkey: pubkey(validatorIndex), validatorIndex, validatorSyncCommitteeIndices: positions}]
          : [];
      }),
      meta: {executionOptimistic: false},
    }),
    produceAttestationData: async ({slot}) => ({data: b.attestationData(slot)}),
    prepareBeaconCommitteeSubnet: async () => undefined,
    prepareSyncCommitteeSubnets: async () => undefined,
    prepareBeaconProposer: async ({proposers}) => {
      for (const p of proposers) b.feeRecipients.set(p.validatorIndex, p.feeRecipient.toLowerCase());
    },
  };
}

/**
 * What a beacon node builds from its pools: an aggregate of the attestations taken for the data root and committee,
 * a contribution of the sync messages taken for the root and subcommittee (404, as the API says, when there are
 * none), and the publication of what the cluster made of them.
 */
function poolMethods(b: MemoryBeacon, node: number): Methods<"validator"> {
  return {
    getAggregatedAttestationV2: async ({attestationDataRoot, slot, committeeIndex}) => {
      const atts = taken(b.received.attestations, (a) => String(a.attesterIndex)).filter(
        (a) =>
          a.data.slot === slot &&
          a.committeeIndex === committeeIndex &&
          bytesEqual(ssz.phase0.AttestationData.hashTreeRoot(a.data), attestationDataRoot),
      );
      const first = atts[0];
      if (!first) throw new ApiError(404, `no attestation for slot ${slot}, committee ${committeeIndex} and that root`);
      const duty = (v: number) =>
        b.attesterDuty(
          b.attesterDuties.find((d) => d.slot === slot && d.validatorIndex === v) ?? {slot, validatorIndex: v},
        );
      const aggregationBits = BitArray.fromBitLen(duty(first.attesterIndex).committeeLength);
      for (const a of atts) aggregationBits.set(duty(a.attesterIndex).validatorCommitteeIndex, true);
      const data = {
        aggregationBits,
        data: first.data,
        signature: aggregate(atts.map((a) => a.signature)),
        committeeBits: BitArray.fromSingleBit(MAX_COMMITTEES_PER_SLOT, committeeIndex),
      };
      return {data, meta: {version: ForkName.electra}};
    },
    publishAggregateAndProofsV2: async ({signedAggregateAndProofs}) =>
      take(b, node, "publishAggregateAndProofsV2", signedAggregateAndProofs as never[], b.received.aggregates),
    produceSyncCommitteeContribution: async ({slot, subcommitteeIndex, beaconBlockRoot}) => {
      const aggregationBits = BitArray.fromBitLen(SYNC_COMMITTEE_SUBNET_SIZE);
      const signatures: Uint8Array[] = [];
      for (const m of taken(b.received.syncMessages, (m) => `${m.slot}/${m.validatorIndex}`)) {
        if (m.slot !== slot || !bytesEqual(m.beaconBlockRoot, beaconBlockRoot)) continue;
        const positions = (b.syncCommittee.get(m.validatorIndex) ?? []).filter(
          (p) => Math.floor(p / SYNC_COMMITTEE_SUBNET_SIZE) === subcommitteeIndex,
        );
        for (const p of positions) aggregationBits.set(p % SYNC_COMMITTEE_SUBNET_SIZE, true);
        if (positions.length > 0) signatures.push(m.signature);
      }
      if (signatures.length === 0)
        throw new ApiError(404, `no sync committee messages for slot ${slot}, subcommittee ${subcommitteeIndex}`);
      return {data: {slot, beaconBlockRoot, subcommitteeIndex, aggregationBits, signature: aggregate(signatures)}};
    },
    publishContributionAndProofs: async ({contributionAndProofs}) =>
      take(b, node, "publishContributionAndProofs", contributionAndProofs, b.received.contributions),
    registerValidator: async ({registrations}) =>
      take(b, node, "registerValidator", registrations, b.received.registrations),
  };
}

/**
 * A block as a beacon node builds it for the proposer: Electra's default block with the slot, proposer, the previous
 * slot's block as parent, the randao reveal asked for, and a payload paying the fee recipient the node
 * was told for the validator (none told: the zero address, which the cluster must refuse).
 */
function blockMethods(b: MemoryBeacon): Methods<"validator"> {
  return {
    produceBlockV3: async ({slot, randaoReveal, builderBoostFactor}) => {
      const block = ssz.electra.BeaconBlock.defaultValue();
      block.slot = slot;
      block.proposerIndex = b.proposers.get(slot) ?? b.pubkeys.length;
      block.parentRoot = b.blockRoot(slot - 1);
      block.body.randaoReveal = randaoReveal;
      block.body.executionPayload.feeRecipient = fromHex(
        b.feeRecipients.get(block.proposerIndex) ?? "0x" + "00".repeat(20),
      );
      block.body.executionPayload.blockHash = b.blockRoot(slot);
      if (b.builder && builderBoostFactor !== 0n) {
        // The builder's payload: its own address as the payload's fee recipient (it pays the proposer in a
        // transaction the blinded block hides), so only the header goes to the cluster.
        block.body.executionPayload.feeRecipient = fromHex(b.builder.coinbase);
        return {
          data: beaconBlockToBlinded(b.config, block as never),
          meta: {
            version: ForkName.electra,
            executionPayloadBlinded: true,
            executionPayloadSource: ProducedBlockSource.builder,
            executionPayloadValue: b.builder.bidWei,
            consensusBlockValue: 0n,
          },
        } as never;
      }
      return {
        data: {block, kzgProofs: [], blobs: []},
        meta: {
          version: ForkName.electra,
          executionPayloadBlinded: false,
          executionPayloadSource: ProducedBlockSource.engine,
          executionPayloadValue: 0n,
          consensusBlockValue: 0n,
        },
      };
    },
  };
}

function nodeMethods(b: MemoryBeacon): Methods<"node"> {
  return {
    getSyncingStatus: async () => ({
      data: {headSlot: b.currentSlot(), syncDistance: 0, isSyncing: false, isOptimistic: false, elOffline: false},
    }),
    getNodeVersion: async () => ({data: {version: "r3dv-memory-beacon/0.1.0"}}),
    getHealth: async () => undefined,
  };
}

function configMethods(b: MemoryBeacon): Methods<"config"> {
  return {getSpec: async () => ({data: {...presetToJson(activePreset), ...chainConfigToJson(b.config)}})};
}

function aggregate(signatures: Uint8Array[]): Uint8Array {
  return aggregateSignatures(signatures.map((s) => Signature.fromBytes(s))).toBytes();
}
