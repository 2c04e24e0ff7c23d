import type {Libp2p, Stream} from "@libp2p/interface";
import type {Metrics} from "../../api/metrics.js";
import {toHex} from "../../hotpath/bytes.js";
import {DURABLE_KINDS, MAX_PAYLOAD_BYTES, chunkId, readChunkHeader} from "../../hotpath/chunk.js";
import {FrameDecoder, frame} from "../../hotpath/frames.js";
import type {ClusterPeer} from "../dht/dhtRole.js";
import {FETCH_MAX_CHUNKS, FetchError, type FetchRequest, requestedRange} from "./fetchServer.js";
import {FETCH_PROTOCOL, type PushAnswer} from "./pushWire.js";

/**
 * A whole fetch (dial, answer, admission of every chunk) ends within 30 s: 10,000 chunks paced by the peer's
 * budget (1000 chunks/s) take 10 s; a peer that answers slower than that is stalling this node's catch-up.
 */
export const FETCH_DEADLINE_MS = 30_000;
/** Fetched chunks waiting for their admission answer: enough to keep the write batches full, few enough to bound memory. */
const FETCH_IN_FLIGHT = 256;

/** What a fetch needs from the store: the push path's admission, paced by the peer's fetch budget. */
export interface FetchAdmission {
  /** Ms until a chunk of `size` bytes from `peer` fits its budget: a puller waits rather than being refused. */
  waitMs(peer: number, size: number): number;
  admit(peer: ClusterPeer, encoded: Uint8Array): Promise<PushAnswer>;
}

export interface FetchResult {
  added: number;
  duplicate: number;
  refused: number;
  /**
   * Of the refused, those a later fetch may pass: over the peer's budget, a full queue, a failed write. The
   * chunk itself was not judged, so a catch-up that met one has not caught up.
   */
  retryable: number;
}

export interface FetchOptions {
  deadlineMs?: number;
  maxChunks?: number;
  metrics?: Metrics;
}

/** What the answer may hold: a chunk outside it means the peer did not answer this request. */
function checkRequested(req: FetchRequest, peer: number, encoded: Uint8Array, ids: Set<string> | undefined): void {
  const h = readChunkHeader(encoded);
  const out = (reason: string) =>
    new FetchError(
      {code: "FETCH_OUT_OF_RANGE", peer, kind: h.kind, slot: h.slot, reason},
      `peer ${peer} answered a fetch with a chunk it did not ask for (${reason})`,
    );
  if (ids) {
    if (!ids.has(toHex(chunkId(encoded)))) throw out("id not requested");
    return;
  }
  const {from, to} = requestedRange(req);
  if (h.slot < from || h.slot > to) throw out(`slot ${h.slot} outside ${from}..${to}`);
  if (req.kind !== undefined && h.kind !== req.kind) throw out(`kind ${h.kind}, asked ${req.kind}`);
  if (req.durableOnly && !DURABLE_KINDS.has(h.kind)) throw out(`kind ${h.kind} is not durable`);
}

/**
 * Asks one peer for chunks and puts each through the same admission as a push (budget, size, signature,
 * limiters, queue). The client enforces what it asked for: chunks outside the request, more than `maxChunks`,
 * or an answer still running at the deadline end the fetch with a FetchError (what was admitted stays).
 */
export async function fetchChunks(
  libp2p: Libp2p,
  peer: ClusterPeer,
  req: FetchRequest,
  admission: FetchAdmission,
  o: FetchOptions = {},
): Promise<FetchResult> {
  const deadlineMs = o.deadlineMs ?? FETCH_DEADLINE_MS;
  const maxChunks = Math.min(o.maxChunks ?? FETCH_MAX_CHUNKS, req.ids?.length ?? Number.POSITIVE_INFINITY);
  const signal = AbortSignal.timeout(deadlineMs);
  const deadline = () =>
    new FetchError(
      {code: "FETCH_DEADLINE", peer: peer.index, ms: deadlineMs},
      `fetch from peer ${peer.index} still running after ${deadlineMs} ms`,
    );
  const ids = req.ids ? new Set(req.ids) : undefined;
  const result: FetchResult = {added: 0, duplicate: 0, refused: 0, retryable: 0};
  let stream: Stream | undefined;
  let pending: Promise<void>[] = [];
  const count = (a: PushAnswer) => {
    const result_ = a.status === "accepted" ? "stored" : a.status === "duplicate" ? "duplicate" : "refused";
    if (a.status === "accepted") result.added++;
    else if (a.status === "duplicate") result.duplicate++;
    else {
      result.refused++;
      if (a.limiter === "rate" || a.limiter === "queue" || a.reason === "write_failed") result.retryable++;
    }
    o.metrics?.catchUp.inc({result: result_});
  };
  try {
    stream = await libp2p.dialProtocol(peer.peerId, FETCH_PROTOCOL, {signal});
    const s = stream;
    signal.addEventListener("abort", () => s.abort(deadline()), {once: true});
    s.send(frame(Buffer.from(JSON.stringify(req), "utf8")));
    const decoder = new FrameDecoder(MAX_PAYLOAD_BYTES + 1024);
    let n = 0;
    outer: for await (const buf of s) {
      for (const f of decoder.push(buf)) {
        if (f.length === 0) break outer;
        if (++n > maxChunks)
          throw new FetchError(
            {code: "FETCH_TOO_MANY_CHUNKS", peer: peer.index, max: maxChunks},
            `peer ${peer.index} answered a fetch with more than ${maxChunks} chunks`,
          );
        const encoded = Uint8Array.from(f);
        checkRequested(req, peer.index, encoded, ids);
        const wait = admission.waitMs(peer.index, encoded.length);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (signal.aborted) throw deadline();
        pending.push(admission.admit(peer, encoded).then(count));
        if (pending.length >= FETCH_IN_FLIGHT) {
          await Promise.all(pending);
          pending = [];
        }
      }
    }
    if (signal.aborted) throw deadline();
    await s.close().catch(() => undefined);
  } catch (e) {
    stream?.abort(e instanceof Error ? e : new Error(String(e)));
    if (signal.aborted && !(e instanceof FetchError)) throw deadline();
    throw e;
  } finally {
    await Promise.all(pending);
  }
  return result;
}
