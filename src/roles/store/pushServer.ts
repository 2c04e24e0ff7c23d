import type {Stream} from "@libp2p/interface";
import type {Metrics} from "../../api/metrics.js";
import {FrameDecoder, frame} from "../../hotpath/frames.js";
import {errorMessage} from "../../util/errors.js";
import type {Logger} from "../../util/logger.js";
import type {ClusterPeer} from "../dht/dhtRole.js";
import type {Admission} from "./admission.js";
import type {StoreComponents} from "./components.js";
import type {BudgetRefusal} from "./peerBudget.js";
import {PUSH_PROTOCOL, type PushAnswer, decodePushRequest, encodePushAnswer} from "./pushWire.js";

/** A push frame holds one chunk (at most 1 MiB of payload) plus its request id. */
const MAX_PUSH_FRAME = (1 << 20) + 1024;
/**
 * Longest pause of a push stream over budget: a 1 MiB chunk refills in a second at 1 MiB/s; past a second the
 * peer's answers for chunks already read would be late for their duty.
 */
const MAX_PUSH_PAUSE_MS = 1000;
/**
 * Refills shorter than this do not pause the stream: a pause of a few ms would end before the peer even saw
 * the window close, and an honest burst of small chunks refills within it. A flood of 1 MiB chunks needs
 * ~1 s per chunk at 1 MiB/s and is paused.
 */
const MIN_PUSH_PAUSE_MS = 100;

export interface PushServerOptions {
  /** Admission of one pushed chunk (its answer goes to `reply`); the budget refusal when the peer is over it. */
  receive(from: ClusterPeer, encoded: Uint8Array, reply: (a: PushAnswer) => void): BudgetRefusal | undefined;
  /** Ms until a chunk of `size` bytes fits the peer's push budget. */
  refillMs(peer: number, size: number): number;
  metrics?: Metrics;
  logger: Logger;
}

/** The `/r3dv/push/1` handler: each member's push stream into admission, paced by the member's push budget. */
export class PushServer {
  constructor(
    private readonly c: StoreComponents,
    private readonly admission: Admission,
  ) {}

  async start(): Promise<void> {
    const {dht, budgets, metrics, logger} = this.c;
    await dht.libp2p.handle(PUSH_PROTOCOL, (stream, conn) => {
      const peer = dht.byPeerId(conn.remotePeer.toString());
      if (!peer) return stream.abort(new Error("not a cluster member"));
      servePush(stream, peer, {
        receive: (from, encoded, reply) => this.admission.receive(from, encoded, reply),
        refillMs: (index, size) => budgets.of(index, "push").waitMs(size, Date.now()),
        metrics,
        logger,
      });
    });
  }
}

/**
 * Serves one member's `/r3dv/push/1` stream: each framed chunk goes to admission and its answer goes back on
 * the stream, matched by request id. A peer over its budget has its stream paused (flow control, below).
 */
export function servePush(stream: Stream, peer: ClusterPeer, o: PushServerOptions): void {
  const decoder = new FrameDecoder(MAX_PUSH_FRAME);
  // Answers of one event turn leave in one write: one noise frame and one syscall instead of one per chunk.
  let outbox: Uint8Array[] = [];
  const flush = () => {
    const batch = outbox;
    outbox = [];
    if (batch.length === 0 || stream.status !== "open" || stream.writeStatus !== "writable") return;
    try {
      stream.send(batch.length === 1 ? (batch[0] as Uint8Array) : Buffer.concat(batch));
    } catch (e) {
      // Closed under us (the pusher went away): its pushes time out and are retried on a new stream.
      o.logger.debug("push answers not sent", {peer: peer.index, answers: batch.length, reason: errorMessage(e)});
    }
  };
  const reply = (reqId: number) => (a: PushAnswer) => {
    if (outbox.length === 0) setImmediate(flush);
    outbox.push(frame(encodePushAnswer(reqId, a)));
  };
  let resumeAt = 0;
  void (async () => {
    try {
      for await (const buf of stream) {
        o.metrics?.pushBytesRead.inc({peer: String(peer.index)}, buf.byteLength);
        for (const f of decoder.push(buf)) {
          const {reqId, chunk} = decodePushRequest(f);
          const refused = o.receive(peer, chunk, reply(reqId));
          const pauseMs = refused ? pushPauseMs(o.refillMs(peer.index, chunk.length)) : 0;
          if (pauseMs > 0) resumeAt = Math.max(resumeAt, Date.now() + pauseMs);
        }
        if (resumeAt > Date.now() && stream.readStatus === "readable")
          pausePush(stream, peer.index, resumeAt - Date.now(), o);
      }
    } catch (e) {
      o.logger.debug("push stream ended", {peer: peer.index, reason: errorMessage(e)});
      stream.abort(e instanceof Error ? e : new Error(String(e)));
    }
  })();
}

/**
 * Flow control for a peer over its budget: stop reading its push stream until the budget has refilled.
 * Paused, the stream sends the peer no window updates, so it can have at most one window in flight: a
 * flooder's bytes then stay on its side instead of costing this node decryption, copies and garbage
 * (refusing alone still read all 50 MiB/s of a 1 MiB-chunk flood).
 */
function pushPauseMs(refill: number): number {
  // A refusal that refills within a pause's length (a burst of small chunks, as an honest peer sends after a
  // reconnect) is left to the budget alone: pausing would hold back that peer's current-duty chunks too.
  return refill < MIN_PUSH_PAUSE_MS ? 0 : Math.min(MAX_PUSH_PAUSE_MS, refill);
}

function pausePush(stream: Stream, peer: number, ms: number, o: PushServerOptions): void {
  stream.pause();
  o.metrics?.pushPauses.inc({peer: String(peer)});
  setTimeout(() => {
    if (stream.status !== "open" || stream.readStatus !== "paused") return;
    try {
      stream.resume();
    } catch (e) {
      // Reset by the peer while paused: nothing left to read.
      o.logger.debug("push stream not resumed", {peer, reason: errorMessage(e)});
    }
  }, ms).unref();
}
