import {chainConfigToJson, specValuesToJson} from "@lodestar/config";
import {BitArray} from "@chainsafe/ssz";
import {ATTESTATION_SUBNET_COUNT, SYNC_COMMITTEE_SUBNET_COUNT, activePreset, presetToJson} from "@lodestar/params";
import type {Devnet} from "../devnet.js";
import {reject} from "../errors.js";

/** The client string `node/version` reports; VCs log it, some parse the part before the slash. */
const NODE_VERSION = "r3dv-devnet/v0.1.0";

/**
 * A head more than this many slots behind the clock makes the node report itself as syncing (and /health 206),
 * as Lodestar does: a VC should then not trust duties. 8 slots = one minimal-preset epoch.
 */
const SYNC_DISTANCE_SYNCING = 8;

export function nodeMethods(devnet: Devnet) {
  const chain = devnet.chain;
  const syncing = () => {
    const headSlot = chain.head().slot;
    const syncDistance = Math.max(0, chain.currentSlot() - headSlot);
    return {
      headSlot,
      syncDistance,
      isSyncing: syncDistance > SYNC_DISTANCE_SYNCING,
      isOptimistic: false,
      elOffline: false,
    };
  };
  return {
    getNetworkIdentity: async () => ({
      data: {
        peerId: "16Uiu2HAmDevnetR3dvEmbeddedBeaconNode",
        enr: "",
        p2pAddresses: [],
        discoveryAddresses: [],
        metadata: {
          seqNumber: 0n,
          attnets: BitArray.fromBitLen(ATTESTATION_SUBNET_COUNT),
          syncnets: BitArray.fromBitLen(SYNC_COMMITTEE_SUBNET_COUNT),
        },
      },
    }),
    getPeerCount: async () => ({data: {disconnected: 0, connecting: 0, connected: 0, disconnecting: 0}}),
    getPeers: async () => ({data: [], meta: {count: 0}}),
    getNodeVersion: async () => ({data: {version: NODE_VERSION}}),
    getSyncingStatus: async () => ({data: syncing()}),
    getHealth: async ({syncingStatus}: {syncingStatus?: number}) => {
      if (syncing().isSyncing) return {status: syncingStatus ?? 206};
      return undefined;
    },
  };
}

export function configMethods(devnet: Devnet) {
  const config = devnet.chain.config;
  return {
    getSpec: async () => ({
      data: {...presetToJson(activePreset), ...chainConfigToJson(config), ...specValuesToJson({})},
    }),
    getForkSchedule: async () => ({
      // Unscheduled forks (epoch Infinity) are not part of this chain's schedule.
      data: config.forksAscendingEpochOrder
        .filter((f) => Number.isFinite(f.epoch))
        .map((f) => ({previousVersion: f.prevVersion, currentVersion: f.version, epoch: f.epoch})),
    }),
    getDepositContract: async () => ({
      data: {chainId: config.DEPOSIT_CHAIN_ID, address: config.DEPOSIT_CONTRACT_ADDRESS},
    }),
  };
}

type Topic = "head" | "block" | "finalized_checkpoint";
const TOPICS: Topic[] = ["head", "block", "finalized_checkpoint"];

export function eventsMethods(devnet: Devnet) {
  const chain = devnet.chain;
  return {
    eventstream: async ({
      topics,
      signal,
      onEvent,
    }: {
      topics: string[];
      signal: AbortSignal;
      onEvent: (e: {type: string; message: unknown}) => void;
    }) => {
      const unknown = topics.filter((t) => !TOPICS.includes(t as Topic));
      if (unknown.length > 0)
        reject(`unsupported event topics ${unknown.join(",")}: this node serves ${TOPICS.join(", ")}`);
      const listeners = topics.map((t) => {
        const fn = (message: object) => onEvent({type: t, message: {...message, executionOptimistic: false}});
        chain.on(t as Topic, fn);
        return () => chain.off(t as Topic, fn);
      });
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), {once: true}));
      for (const off of listeners) off();
    },
  };
}
