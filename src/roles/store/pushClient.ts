import type {Libp2p, PeerId, Stream} from "@libp2p/interface";
import {FrameDecoder, frame} from "../../hotpath/frames.js";
import {R3dvError, errorMessage} from "../../util/errors.js";
import {PUSH_PROTOCOL, type PushAnswer, decodePushAnswer, encodePushRequest} from "./pushWire.js";

/** A push unanswered after 5 s is lost: longer than any healthy answer (ms) and under a 6 s devnet slot. */
export const PUSH_TIMEOUT_MS = 5000;
/** Answers are tiny; anything bigger is a broken peer. */
const MAX_ANSWER_BYTES = 4096;

export type PushErrorType =
  {code: "PUSH_TIMEOUT"; peer: string} | {code: "PUSH_STREAM_FAILED"; peer: string; reason: string};
export class PushError extends R3dvError<PushErrorType> {}

interface Pending {
  resolve: (a: PushAnswer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One long-lived `/r3dv/push/1` stream to one peer, with many pushes in flight, matched by request id. */
export class PushChannel {
  private stream: Promise<Stream> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Requests of one event turn leave in one write: one yamux frame and one noise encryption for all of them. */
  private outbox: Uint8Array[] = [];

  constructor(
    private readonly libp2p: Libp2p,
    readonly peer: PeerId,
  ) {}

  push(chunk: Uint8Array, timeoutMs = PUSH_TIMEOUT_MS): Promise<PushAnswer> {
    const reqId = this.nextId;
    this.nextId = (this.nextId % 0xffffffff) + 1;
    return new Promise<PushAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(
          new PushError(
            {code: "PUSH_TIMEOUT", peer: this.peer.toString()},
            `push to ${this.peer.toString()} unanswered after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.pending.set(reqId, {resolve, reject, timer});
      if (this.outbox.length === 0) setImmediate(() => this.flush());
      this.outbox.push(frame(encodePushRequest(reqId, chunk)));
    });
  }

  private flush(): void {
    const batch = this.outbox;
    this.outbox = [];
    // The stream can close between opening and this write (the peer restarted): sending then throws, and the
    // whole batch fails over to a fresh stream on the next push instead of surfacing as an unhandled rejection.
    this.open()
      .then(async (s) => {
        if (s.writeStatus !== "writable") throw new Error(`stream is ${s.writeStatus}`);
        if (!s.send(batch.length === 1 ? (batch[0] as Uint8Array) : Buffer.concat(batch)))
          await s.onDrain().catch(() => undefined);
      })
      .catch((e: unknown) => this.fail(e));
  }

  private open(): Promise<Stream> {
    if (!this.stream) {
      const opening = this.libp2p.dialProtocol(this.peer, PUSH_PROTOCOL, {
        signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
      });
      this.stream = opening;
      opening.then(
        (s) => void this.read(s),
        () => {
          if (this.stream === opening) this.stream = null;
        },
      );
    }
    return this.stream;
  }

  private async read(s: Stream): Promise<void> {
    const decoder = new FrameDecoder(MAX_ANSWER_BYTES);
    try {
      for await (const buf of s) {
        for (const f of decoder.push(buf)) {
          const {reqId, answer} = decodePushAnswer(f);
          const p = this.pending.get(reqId);
          if (!p) continue;
          this.pending.delete(reqId);
          clearTimeout(p.timer);
          p.resolve(answer);
        }
      }
      this.fail(new Error("stream closed by peer"));
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    this.stream = null;
    const err = new PushError(
      {code: "PUSH_STREAM_FAILED", peer: this.peer.toString(), reason: errorMessage(e)},
      `push stream to ${this.peer.toString()} failed: ${errorMessage(e)}`,
    );
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  close(): void {
    const s = this.stream;
    this.stream = null;
    void s?.then((x) => x.close()).catch(() => undefined);
    this.fail(new Error("closed"));
  }
}
