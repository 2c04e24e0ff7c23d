import type {IpcHandler} from "../api/ipc.js";
import {fromHex, toHex} from "../hotpath/bytes.js";
import {chunkId, decodeChunk, isChunkKind} from "../hotpath/chunk.js";
import {CHUNK_ENTRY_TYPES, type Entry, parseJsonBody} from "../storage/entry.js";
import {R3dvError, errorMessage} from "../util/errors.js";
import {type BlockView, decodeBlockView} from "../roles/evm/blockView.js";
import {buildDutyTrail, windowedResults} from "./dutyTrail.js";
import {chunkKindOf} from "./records.js";
import type {R3dvNode} from "./node.js";

export type IpcRequestErrorType = {code: "NODE_BAD_REQUEST"; method: string; reason: string};
/** A local tool's request the node cannot serve as asked: the message says which parameter and what it takes. */
export class IpcRequestError extends R3dvError<IpcRequestErrorType> {}

/**
 * What the IPC methods read of the node: its series, its status and its store; and its exits, the one thing an
 * operator signs by hand (the socket is owner-only: whoever reaches it runs the node).
 */
export type IpcNode = Pick<
  R3dvNode,
  "self" | "series" | "pool" | "metrics" | "store" | "status" | "health" | "peers" | "publish" | "validator" | "logger"
> & {
  slotStartMs(slot: number): number | undefined;
};

const METHODS = [
  "status",
  "health",
  "peers",
  "series",
  "duty",
  "limiters",
  "publish",
  "has",
  "catchup",
  "exit_sign",
  "exit_status",
  "retire",
] as const;

/** The IPC methods local tools call (`r3dv status`, `series`, `duty`, ...). Params come from a JSON line: every field is checked. */
export function ipcMethods(node: IpcNode): IpcHandler {
  return async (method, params) => {
    const bad = (reason: string) => new IpcRequestError({code: "NODE_BAD_REQUEST", method, reason}, reason);
    switch (method as (typeof METHODS)[number]) {
      case "status":
        return node.status();
      case "health":
        return node.health();
      case "peers":
        return node.peers();
      case "series": {
        const n = Number(params.tail ?? 20);
        if (!Number.isInteger(n) || n < 1 || n > 10_000)
          throw bad(`tail must be an integer from 1 to 10000, got ${String(params.tail)}`);
        const type = params.kind === undefined ? undefined : String(params.kind);
        const entries = node.series.tail(n, type ? (e) => chunkKindOf(e) === type || e.type === type : undefined);
        const verify = params.verify ? await node.pool.verifyChain(node.series.dir) : undefined;
        return {
          lastSeq: node.series.lastSeq,
          headHash: node.series.headHash,
          entries: entries.map(describeEntry),
          verify,
        };
      }
      case "duty": {
        const slot = Number(params.slot);
        if (!Number.isSafeInteger(slot) || slot < 0)
          throw bad(`slot must be a non-negative integer, got ${String(params.slot)}`);
        const validator = params.validator === undefined ? undefined : Number(params.validator);
        if (validator !== undefined && (!Number.isSafeInteger(validator) || validator < 0))
          throw bad(`validator must be a non-negative integer, got ${String(params.validator)}`);
        const entries = [
          ...windowedResults((s) => node.series.entriesBySlot(s), slot),
          ...node.series.entriesBySlot(slot),
        ].sort((a, b) => a.seq - b.seq);
        return buildDutyTrail(entries, node.self, slot, node.slotStartMs(slot), validator);
      }
      case "limiters": {
        const window = Number(params.window ?? 100_000);
        if (!Number.isInteger(window) || window < 1)
          throw bad(`window must be a positive integer, got ${String(params.window)}`);
        node.metrics.limiterAudits.inc({result: "run"});
        return {...(await node.status()).limiters, window: await node.pool.window(node.series.dir, window)};
      }
      case "publish": {
        const kind = String(params.kind ?? "probe");
        if (!isChunkKind(kind)) throw bad(`unknown chunk kind ${kind}`);
        const payload = Buffer.from(String(params.payload ?? ""), "utf8");
        const slot = params.slot === undefined ? undefined : Number(params.slot);
        if (slot !== undefined && (!Number.isSafeInteger(slot) || slot < 0))
          throw bad(`slot must be a non-negative integer`);
        return node.publish(kind, payload, slot);
      }
      case "has": {
        const ids = Array.isArray(params.ids) ? params.ids.map(String) : [];
        return ids.map((id) => {
          try {
            return node.series.hasChunk(fromHex(id, 32));
          } catch {
            throw bad(`ids must be 0x-prefixed 32-byte hex, got ${id.slice(0, 20)}`);
          }
        });
      }
      case "catchup":
        return {added: await node.store.catchUps.run()};
      case "exit_sign":
      case "exit_status": {
        const exits = node.validator.exits;
        if (!exits) throw bad("validator duties have not started (no beacon node has answered yet): see `r3dv status`");
        const validator = params.validator === undefined ? undefined : String(params.validator);
        if (validator !== undefined && !/^(\d+|0x[0-9a-fA-F]{96})$/.test(validator))
          throw bad(`validator must be an index or a 0x-prefixed 48-byte public key, got ${validator.slice(0, 20)}`);
        if (method === "exit_status") return exits.status(validator);
        if (validator === undefined) throw bad("give the validator to exit (index or public key)");
        const epoch = params.epoch === undefined ? undefined : Number(params.epoch);
        if (epoch !== undefined && (!Number.isSafeInteger(epoch) || epoch < 0))
          throw bad(`epoch must be a non-negative integer, got ${String(params.epoch)}`);
        return exits.sign(validator, {...(epoch === undefined ? {} : {epoch}), submit: params.submit !== false});
      }
      case "retire": {
        const term = node.validator.signingTerm;
        if (!term) throw bad("the validator role has not started yet: see `r3dv status`");
        const epoch = Number(params.epoch);
        if (params.epoch === undefined || !Number.isSafeInteger(epoch) || epoch < 0)
          throw bad(`epoch must be a non-negative integer, got ${String(params.epoch)}`);
        await term.retire(epoch);
        node.logger.warn("retired: this node signs nothing from the epoch on (r3dv retire)", {epoch});
        return {retiredFromEpoch: term.untilEpoch, signsFromEpoch: term.fromEpoch};
      }
      default:
        throw bad(`unknown method ${method}; methods: ${METHODS.join(", ")}`);
    }
  };
}

/** An `eth_block` chunk's view, so `r3dv series --kind eth_block` shows what every node saw; or why it is none. */
function blockViewOf(payload: Uint8Array, slot: number): {view: BlockView} | {viewError: string} {
  try {
    return {view: decodeBlockView(payload, slot)};
  } catch (e) {
    return {viewError: errorMessage(e)};
  }
}

/** One entry as JSON for local tools: chunk entries decoded, others as their JSON body. */
export function describeEntry(e: Entry): Record<string, unknown> {
  const base = {seq: e.seq, type: e.type, t: new Date(e.t).toISOString(), prevHash: toHex(e.prevHash)};
  if (CHUNK_ENTRY_TYPES.has(e.type)) {
    const encoded = e.body.subarray(1);
    const c = decodeChunk(encoded);
    return {
      ...base,
      from: e.body[0],
      chunk: {
        id: toHex(chunkId(encoded)),
        kind: c.kind,
        slot: c.slot,
        origin: c.origin,
        seq: c.seq,
        bytes: c.payload.length,
      },
      ...(c.kind === "eth_block" ? blockViewOf(c.payload, c.slot) : {}),
    };
  }
  return {...base, body: parseJsonBody(e)};
}
