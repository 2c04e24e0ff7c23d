import type {PrivateKey} from "@libp2p/interface";
import {errorMessage} from "../../util/errors.js";
import type {Logger} from "../../util/logger.js";
import type {ClusterDefinition} from "../definitionSchema.js";
import {DkgNetwork} from "./dkgNetwork.js";
import type {LockMessage} from "./lockRound.js";
import type {DkgMessage} from "./messages.js";
import {DkgError} from "./outcome.js";
import {MAX_ABORT_REASON, type WireMessage} from "./wire.js";

/** How often the operators still missing are logged while waiting. */
const WAIT_LOG_INTERVAL_MS = 5000;
/** A failed send is retried this often until its round's deadline: a peer that is still starting comes up. */
const RETRY_MS = 500;
/**
 * At the end, success or not, messages still on their way out get this long before the host closes: an operator
 * that stops at a definition mismatch must still deliver its hello, or the others wait out a round for it.
 */
const FLUSH_MS = 5000;

export interface DkgSessionOptions {
  definition: ClusterDefinition;
  self: number;
  privateKey: PrivateKey;
  listen?: string;
  logger: Logger;
  /** How long a send is retried; the round deadline. */
  roundTimeoutMs: number;
  signal?: AbortSignal;
  /** Every ceremony and lock message from a peer (abort messages are the session's own). */
  onMessage: (message: DkgMessage | LockMessage) => void;
  /** Why the ceremony cannot go on, checked at every wake-up (an operator that restarted). */
  stopReason: () => DkgError | undefined;
}

/**
 * One operator's connection to the ceremony: the network, waits that end on a message, a stop or a deadline,
 * background sends with retries, and the abort that tells the others when this operator stops.
 */
export class DkgSession {
  private readonly net: DkgNetwork;
  private readonly others: number[];
  private readonly inflight = new Set<Promise<unknown>>();
  private wake = () => {};
  private closed = false;
  /** Set when another operator stopped: every wait ends at once and the ceremony fails with its reason. */
  private peerAborted: DkgError | undefined;

  constructor(private readonly o: DkgSessionOptions) {
    const {definition, self, privateKey, listen, logger} = o;
    this.others = definition.operators.map((op) => op.index).filter((i) => i !== self);
    this.net = new DkgNetwork({definition, self, privateKey, listen, logger, onMessage: (m) => this.receive(m)});
    o.signal?.addEventListener("abort", () => this.wake());
  }

  async start(): Promise<void> {
    await this.net.start();
  }

  /** Waits for every operator to connect; throws naming those that did not. */
  async connectAll(timeoutMs: number): Promise<void> {
    const missing = () => this.others.filter((i) => !this.net.connected().includes(i));
    this.o.logger.info("DKG: connecting to the definition's operators", {self: this.o.self, operators: this.others});
    await this.waitUntil(() => missing().length === 0, timeoutMs, missing, "connect");
    const operators = missing();
    if (operators.length === 0) return;
    const ops = this.o.definition.operators;
    throw new DkgError(
      {code: "DKG_OPERATORS_MISSING", round: "hello", operators},
      `operator(s) ${operators
        .map((i) => `${i} (${ops[i - 1]?.peer_id} at ${ops[i - 1]?.address})`)
        .join(", ")} did not connect: check that they run r3dv dkg with this definition and are reachable`,
    );
  }

  /** Throws if the ceremony cannot go on: another operator stopped or restarted, or this one was cancelled. */
  checkStopped(): void {
    if (this.peerAborted) throw this.peerAborted;
    const reason = this.o.stopReason();
    if (reason) throw reason;
    if (this.o.signal?.aborted) throw new DkgError({code: "DKG_CANCELLED"}, "the DKG ceremony was cancelled");
  }

  /** Resolves when `done()` holds, re-checked on every message, or at the deadline; logs who is missing. */
  async waitUntil(done: () => boolean, timeoutMs: number, missing: () => number[], what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastLog = Date.now();
    for (;;) {
      this.checkStopped();
      if (done() || Date.now() >= deadline) return;
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, Math.min(1000, deadline - Date.now()));
      });
      if (Date.now() - lastLog >= WAIT_LOG_INTERVAL_MS && !done()) {
        lastLog = Date.now();
        this.o.logger.info(`waiting for operators: ${what}`, {operators: missing()});
      }
    }
  }

  /**
   * Sends in the background, retrying a peer that is not reachable yet until the round's deadline: the round
   * waits for messages in, not out, so one dead peer costs one deadline, not one per message.
   */
  send(out: {to?: number; message: WireMessage}[]): void {
    const deadline = Date.now() + this.o.roundTimeoutMs;
    const sending = Promise.all(
      out.flatMap(({to, message}) =>
        (to === undefined ? this.others : [to]).map((dest) => this.sendUntil(dest, message, deadline)),
      ),
    );
    this.inflight.add(sending);
    void sending.finally(() => this.inflight.delete(sending));
  }

  /** Tells the others why this operator stops, so they stop now rather than at a deadline (not back to one that stopped us). */
  abortOthers(e: unknown): void {
    if (e instanceof DkgError && e.code === "DKG_PEER_ABORTED") return;
    this.send([{message: {kind: "abort", from: this.o.self, reason: errorMessage(e).slice(0, MAX_ABORT_REASON)}}]);
  }

  async close(): Promise<void> {
    let flushTimer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(this.inflight), new Promise((r) => (flushTimer = setTimeout(r, FLUSH_MS)))]);
    clearTimeout(flushTimer);
    // Retries to peers that are gone end here; left running they would hold the process up to a round deadline.
    this.closed = true;
    await this.net.stop();
  }

  private async sendUntil(dest: number, message: WireMessage, deadline: number): Promise<void> {
    for (;;) {
      try {
        return await this.net.send(dest, message);
      } catch (e) {
        if (this.closed) return;
        if (Date.now() > deadline) {
          this.o.logger.warn("DKG message not delivered", {peer: dest, kind: message.kind, reason: errorMessage(e)});
          return;
        }
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  private receive(m: WireMessage): void {
    if (m.kind === "abort") {
      // A peer's text reaches this operator's terminal: control characters (escape sequences) are replaced.
      const reason = m.reason.replace(/\p{Cc}/gu, "?");
      this.peerAborted ??= new DkgError(
        {code: "DKG_PEER_ABORTED", operator: m.from, reason},
        `operator ${m.from} stopped the ceremony: ${reason}`,
      );
    } else {
      this.o.onMessage(m);
    }
    this.wake();
  }
}
