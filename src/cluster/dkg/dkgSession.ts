import {randomBytes} from "node:crypto";
import type {PrivateKey} from "@libp2p/interface";
import {errorMessage} from "../../util/errors.js";
import type {Logger} from "../../util/logger.js";
import type {ClusterDefinition} from "../definitionSchema.js";
import {DkgNetwork} from "./dkgNetwork.js";
import type {LockMessage} from "./lockRound.js";
import type {DkgMessage} from "./messages.js";
import {DkgError} from "./outcome.js";
import {type Attempt, AttemptFilter, nextAttempt} from "./attempts.js";
import {type Envelope, MAX_ABORT_REASON, type WireMessage} from "./wire.js";

const randomId = (bytes: number) => new Uint8Array(randomBytes(bytes));

/** How often the operators still missing are logged while waiting. */
const WAIT_LOG_INTERVAL_MS = 5000;
/** A failed send is retried this often until its round's deadline: a peer that is still starting comes up. */
const RETRY_MS = 500;
/**
 * After a failure, messages still on their way out get this long before the host closes: an operator that stops
 * at a definition mismatch must still deliver its hello, or the others wait out a round for it. After a success
 * they get until their round's deadline (close's `flushMs`): the last messages (a leaving dealer's answer, a
 * lock signature) are what the others still wait for, and on a loaded machine 5 s did not always deliver them.
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
  /** Every ceremony and lock message of a peer's current attempt (abort messages are the session's own). */
  onMessage: (message: DkgMessage | LockMessage) => void;
  /** Whether this participant's ceremony is still in its hello round (nothing dealt yet). */
  helloOpen: () => boolean;
  /** A peer started anew during the hello round: the ceremony forgets what it holds from it. */
  onReplaced: (from: number) => void;
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
  /** Set once this participant is done (either way): a send to a peer whose host is gone then ends (sendUntil). */
  private closing = false;
  /** Set when another operator stopped: every wait ends at once and the ceremony fails with its reason. */
  private peerAborted: DkgError | undefined;
  private attempt: Attempt;
  private readonly filter = new AttemptFilter();
  /** Messages of peers' new attempts that arrived after this one had dealt: kept for this participant's next attempt. */
  private restartedBy: Envelope[] = [];

  constructor(private readonly o: DkgSessionOptions) {
    this.attempt = nextAttempt(randomId);
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
    if (this.restartedBy.length > 0) {
      const operators = [...new Set(this.restartedBy.map((e) => e.message.from))].sort((a, b) => a - b);
      throw new DkgError(
        {code: "DKG_PEER_RESTARTED", operators},
        `operator(s) ${operators.join(", ")} restarted during the ceremony and lost its state: every operator starts ` +
          "it again",
      );
    }
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
    // The attempt of when it was sent: a retry that lands after a restart is then dropped as stale.
    const attempt = this.attempt;
    const sending = Promise.all(
      out.flatMap(({to, message}) =>
        (to === undefined ? this.others : [to]).map((dest) => this.sendUntil(dest, {attempt, message}, deadline)),
      ),
    );
    this.inflight.add(sending);
    void sending.finally(() => this.inflight.delete(sending));
  }

  /**
   * Starts this participant's next attempt: every peer's attempt so far is left behind (its late messages are
   * dropped) and the new attempts' messages that caused the restart go to the new ceremony.
   */
  newAttempt(): void {
    this.attempt = nextAttempt(randomId, this.attempt);
    this.filter.restart();
    const kept = this.restartedBy;
    this.restartedBy = [];
    for (const e of kept) this.receive(e);
  }

  /** Tells the others why this operator stops, so they stop now rather than at a deadline (not back to one that stopped us). */
  abortOthers(e: unknown): void {
    if (e instanceof DkgError && e.code === "DKG_PEER_ABORTED") return;
    this.send([{message: {kind: "abort", from: this.o.self, reason: errorMessage(e).slice(0, MAX_ABORT_REASON)}}]);
  }

  async close(flushMs = FLUSH_MS): Promise<void> {
    this.closing = true;
    let flushTimer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(this.inflight), new Promise((r) => (flushTimer = setTimeout(r, flushMs)))]);
    clearTimeout(flushTimer);
    // Retries to peers that are gone end here; left running they would hold the process up to a round deadline.
    this.closed = true;
    await this.net.stop();
  }

  private async sendUntil(dest: number, envelope: Envelope, deadline: number): Promise<void> {
    for (;;) {
      try {
        return await this.net.send(dest, envelope);
      } catch (e) {
        if (this.closed) return;
        // A peer closes its host only once it is done: it finished, so it had this message (every message of
        // the last round is in before anyone finishes), or it failed and no message helps it. Retrying to the
        // deadline would hold this participant's exit for a round; an acknowledgement lost in the peer's close
        // is the common case.
        if (this.closing && !this.net.connected().includes(dest)) {
          this.o.logger.debug("DKG send to a peer that has left ends", {peer: dest, kind: envelope.message.kind});
          return;
        }
        if (Date.now() > deadline) {
          const kind = envelope.message.kind;
          this.o.logger.warn("DKG message not delivered", {peer: dest, kind, reason: errorMessage(e)});
          return;
        }
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  private receive(envelope: Envelope): void {
    const m = envelope.message;
    const verdict = this.filter.judge(m.from, envelope.attempt, this.o.helloOpen());
    if (verdict === "stale") {
      this.o.logger.debug("DKG message of an earlier attempt dropped", {peer: m.from, kind: m.kind});
      return;
    }
    if (verdict === "restart") {
      this.restartedBy.push(envelope);
      this.wake();
      return;
    }
    if (verdict === "replaced") {
      this.o.logger.info("DKG: an operator started again before anything was dealt; its new run replaces the old", {
        peer: m.from,
      });
      this.o.onReplaced(m.from);
    }
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
