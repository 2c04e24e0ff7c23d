import type {ClusterTransport, DutyChunkKind} from "../roles/validator/clusterTransport.js";
import type {StoreRole} from "../roles/store/storeRole.js";
import type {Logger} from "../util/logger.js";
import type {ViewTransport} from "../roles/evm/viewSharing.js";
import type {Series} from "../storage/series.js";
import {decodeChunk} from "../hotpath/chunk.js";

/**
 * The duty layer's view of the store role: publishing is pushing a signed chunk to every peer (recorded in
 * the series first), hearing is being told of each admitted chunk of a kind. Publishing does not wait for
 * answers: a duty never blocks on a slow peer; replication retries what a peer missed.
 */
export function storeTransport(store: StoreRole, self: number, logger: Logger): ClusterTransport {
  return {
    self,
    publish(kind: DutyChunkKind, slot: number, payload: Uint8Array): void {
      store.publish(kind, payload, slot).catch((e: unknown) => logger.warn("duty chunk not pushed", {kind, slot}, e));
    },
    subscribe(kind, handler) {
      return store.onChunk((c) => {
        if (c.kind === kind) handler(c.origin, c.slot, c.payload);
      });
    },
    isConnected: (peer) => store.isConnected(peer),
  };
}

/** The EVM role's view of the store role: its block views as `eth_block` chunks, out and in. */
export function viewTransport(
  store: StoreRole,
  series: Series,
  self: number,
  currentSlot: () => number | undefined,
  logger: Logger,
): ViewTransport {
  return {
    self,
    publish: (slot, payload) =>
      store.publish("eth_block", payload, slot).then(
        () => true,
        (e: unknown) => {
          logger.warn("block view not pushed", {slot}, e);
          return false;
        },
      ),
    subscribe: (handler) =>
      store.onChunk((c) => {
        if (c.kind === "eth_block") handler(c.origin, c.slot, c.payload);
      }),
    sentForSlot: (slot) =>
      series.entriesBySlot(slot).flatMap((e) => {
        if (e.type !== "chunk_sent") return [];
        const c = decodeChunk(e.body.subarray(1));
        return c.kind === "eth_block" ? [c.payload] : [];
      }),
    currentSlot,
  };
}
