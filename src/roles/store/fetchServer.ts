import type {Stream} from "@libp2p/interface";
import {z} from "zod";
import type {Metrics} from "../../api/metrics.js";
import {fromHex} from "../../hotpath/bytes.js";
import {CHUNK_KINDS, type ChunkKind, DURABLE_KINDS, readStoredChunkHeader} from "../../hotpath/chunk.js";
import {FrameDecoder, frame} from "../../hotpath/frames.js";
import type {Series} from "../../storage/series.js";
import {R3dvError} from "../../util/errors.js";

/** Most chunks one fetch answer carries: bounds a response at ~10 MB for typical (~1 KiB) chunks. */
export const FETCH_MAX_CHUNKS = 10_000;
/** Catch-up looks back at most this far: the objective limiter's "recent" band (older history is audit, not duty). */
export const CATCHUP_MAX_SLOTS = 100;
/** A request is a few numbers or at most FETCH_MAX_CHUNKS hex ids (~66 bytes each). */
const MAX_REQUEST_BYTES = FETCH_MAX_CHUNKS * 70 + 1024;

const requestSchema = z
  .object({
    ids: z
      .array(z.string().regex(/^0x[0-9a-f]{64}$/))
      .max(FETCH_MAX_CHUNKS)
      .optional(),
    fromSlot: z.number().int().nonnegative().optional(),
    toSlot: z.number().int().nonnegative().optional(),
    kind: z.enum(CHUNK_KINDS).optional(),
    durableOnly: z.boolean().optional(),
  })
  .strict();
export type FetchRequest = z.infer<typeof requestSchema>;

export type FetchErrorType =
  | {code: "FETCH_BAD_REQUEST"; reason: string}
  | {code: "FETCH_OUT_OF_RANGE"; peer: number; kind: string; slot: number; reason: string}
  | {code: "FETCH_TOO_MANY_CHUNKS"; peer: number; max: number}
  | {code: "FETCH_DEADLINE"; peer: number; ms: number};
export class FetchError extends R3dvError<FetchErrorType> {}

/** The slot range a request really asks for: at most CATCHUP_MAX_SLOTS slots from `fromSlot`. */
export function requestedRange(req: FetchRequest): {from: number; to: number} {
  const from = req.fromSlot ?? 0;
  return {from, to: Math.min(req.toSlot ?? from, from + CATCHUP_MAX_SLOTS)};
}

export function parseFetchRequest(bytes: Uint8Array): FetchRequest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (e) {
    throw new FetchError({code: "FETCH_BAD_REQUEST", reason: `not JSON: ${String(e)}`}, "fetch request is not JSON");
  }
  const r = requestSchema.safeParse(json);
  if (!r.success)
    throw new FetchError({code: "FETCH_BAD_REQUEST", reason: r.error.message}, `bad fetch request: ${r.error.message}`);
  return r.data;
}

/** The chunks this node answers a request with: the ids asked for, or the range's chunks of the kind and durability asked for. */
export function* lookUp(series: Series, req: FetchRequest): Generator<Uint8Array> {
  if (req.ids) {
    for (const id of req.ids) {
      const c = series.getChunk(fromHex(id, 32));
      if (c) yield c;
    }
    return;
  }
  const {from, to} = requestedRange(req);
  const kind = req.kind !== undefined ? CHUNK_KINDS.indexOf(req.kind) : undefined;
  let n = 0;
  for (let slot = from; slot <= to; slot++) {
    for (const c of series.chunksBySlot(slot, kind, FETCH_MAX_CHUNKS - n)) {
      if (req.durableOnly && !DURABLE_KINDS.has(readStoredChunkHeader(c).kind as ChunkKind)) continue;
      yield c;
      if (++n >= FETCH_MAX_CHUNKS) return;
    }
  }
}

/** Answers one `/r3dv/fetch/1` request from a cluster member: its chunks, then an empty frame. */
export async function serveFetch(stream: Stream, series: Series, metrics?: Metrics): Promise<void> {
  const decoder = new FrameDecoder(MAX_REQUEST_BYTES);
  try {
    let req: FetchRequest | undefined;
    for await (const buf of stream) {
      const f = decoder.push(buf)[0];
      if (f) {
        req = parseFetchRequest(f);
        break;
      }
    }
    if (!req) throw new FetchError({code: "FETCH_BAD_REQUEST", reason: "stream ended before a request"});
    let n = 0;
    for (const c of lookUp(series, req)) {
      if (!stream.send(frame(c))) await stream.onDrain();
      n++;
    }
    metrics?.fetchServed.inc(n);
    stream.send(frame(new Uint8Array(0)));
    await stream.close();
  } catch (e) {
    stream.abort(e instanceof Error ? e : new Error(String(e)));
  }
}
