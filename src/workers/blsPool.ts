import {availableParallelism} from "node:os";
import {Piscina} from "piscina";
import {type RecoverInput, type RecoverResult, ThresholdError} from "../hotpath/threshold.js";
import {R3dvError} from "../util/errors.js";
import type {BlsTask, RecoverOutcome, SerializedSignatureSet, VerifySetsResult} from "./blsTasks.js";
import {WORKER_EVENT_LOOP} from "./workerEventLoop.js";

/**
 * Buffer small verification jobs up to this many signature sets before sending them to a worker. blst's
 * batched check costs ~0.64 ms per set against 1.4 ms alone (DESIGN.md), and most of that gain is reached by
 * 32 sets; a bigger buffer only adds waiting. Lodestar's BLS pool uses the same count.
 */
export const MAX_BUFFERED_SETS = 32;

/**
 * ...or until this many milliseconds pass since the first buffered job. Lodestar waits 100 ms for gossip;
 * our jobs sit on the duty path, where the attestation deadline is a third of a slot (4 s on mainnet, 667 ms
 * on a 2 s devnet slot). 5 ms is under 1% of the tightest of those and still lets a burst of partial
 * signatures from n peers (which arrive within a few ms of each other) share one pairing.
 */
export const MAX_BUFFER_WAIT_MS = 5;

/**
 * Split bigger jobs into worker tasks of at most this many sets, so a 1000-set job spreads over all
 * workers, and a failed batch (which falls back to one-by-one checks, ~2x the cost) stays under ~200 ms.
 */
export const MAX_SETS_PER_TASK = 128;

/**
 * Recoveries asked for in the same turn of the event loop go to the workers together (one pairing per
 * message, hotpath/batchRecover.ts). They come in bursts: a peer's `partial_sig` chunk carries a whole slot's
 * partials, so the chunk that completes the threshold completes every validator's at once. A task gets at
 * least this many, so its pairing check (about 1.4 ms, the price of one plain verify) is shared by 8 or more
 * recoveries (about 1.7 ms each), and only bursts bigger than size x this are spread over several workers.
 */
export const MIN_RECOVERIES_PER_TASK = 8;

/**
 * Signing batches of at least this many go to the workers. A share signature costs ~0.33 ms on the main thread
 * (`npm run bench -- bls`) and a task's round trip about 0.1 ms, so from a handful on the pool is cheaper for
 * the event loop; 16 keeps a slot's few proposals and sync messages on the main thread, where they are done
 * before a task would start, and sends a slot's attesters and selection proofs (hundreds at 10,000 validators:
 * ~100 ms of main thread each burst, while peers' partials wait to be read) to the workers.
 */
export const SIGN_IN_POOL_MIN = 16;

export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism() - 1);
}

export type BlsPoolErrorType = {code: "BLS_POOL_CLOSED"} | {code: "BLS_POOL_INVALID_SIZE"; size: number};
export class BlsPoolError extends R3dvError<BlsPoolErrorType> {}

export interface BlsPoolOptions {
  /** Worker threads; default cores - 1 (the main thread keeps a core for the network), at least 1. */
  size?: number;
  maxBufferedSets?: number;
  maxBufferWaitMs?: number;
}

export interface BlsPoolStats {
  size: number;
  /** Tasks waiting for a free worker. */
  queueSize: number;
  tasksRun: number;
  setsVerified: number;
  batchFallbacks: number;
  recoveries: number;
  recoveryFailures: number;
  /** Share signatures made in the workers (batches of SIGN_IN_POOL_MIN or more). */
  signatures: number;
}

interface PendingRecovery {
  input: RecoverInput;
  resolve: (r: RecoverResult) => void;
  reject: (e: unknown) => void;
}

interface PendingJob {
  sets: SerializedSignatureSet[];
  resolve: (valid: boolean) => void;
  reject: (e: unknown) => void;
}

export class BlsPool {
  readonly size: number;
  private readonly piscina: Piscina;
  private readonly maxBufferedSets: number;
  private readonly maxBufferWaitMs: number;
  private buffer: PendingJob[] = [];
  private bufferedSets = 0;
  private bufferTimer: NodeJS.Timeout | null = null;
  private recoveries: PendingRecovery[] = [];
  private closed = false;
  private readonly counters = {
    tasksRun: 0,
    setsVerified: 0,
    batchFallbacks: 0,
    recoveries: 0,
    recoveryFailures: 0,
    signatures: 0,
  };

  constructor(opts: BlsPoolOptions = {}) {
    const size = opts.size ?? defaultPoolSize();
    if (!Number.isInteger(size) || size < 1) {
      throw new BlsPoolError(
        {code: "BLS_POOL_INVALID_SIZE", size},
        `worker pool size must be a positive integer, got ${size}`,
      );
    }
    this.size = size;
    this.maxBufferedSets = opts.maxBufferedSets ?? MAX_BUFFERED_SETS;
    this.maxBufferWaitMs = opts.maxBufferWaitMs ?? MAX_BUFFER_WAIT_MS;
    this.piscina = new Piscina({
      filename: new URL("./blsWorker.js", import.meta.url).href,
      minThreads: size,
      maxThreads: size,
      // Keep workers alive: spawning one costs ~50 ms (wasm + blst load), far more than any job.
      idleTimeout: Number.POSITIVE_INFINITY,
      ...WORKER_EVENT_LOOP,
    });
  }

  /**
   * Resolves true when every set verifies. Non-priority jobs are buffered and batched with other callers';
   * `priority` jobs (the current duty's partial signatures) go to a worker at once.
   */
  verifySignatureSets(sets: SerializedSignatureSet[], opts: {priority?: boolean} = {}): Promise<boolean> {
    if (this.closed) return Promise.reject(new BlsPoolError({code: "BLS_POOL_CLOSED"}, "BLS worker pool is closed"));
    if (sets.length === 0) return Promise.resolve(true);
    if (opts.priority || sets.length >= this.maxBufferedSets) {
      return this.verifyNow(sets);
    }
    return new Promise<boolean>((resolve, reject) => {
      this.buffer.push({sets, resolve, reject});
      this.bufferedSets += sets.length;
      if (this.bufferedSets >= this.maxBufferedSets) {
        this.flush();
      } else if (this.bufferTimer === null) {
        this.bufferTimer = setTimeout(() => this.flush(), this.maxBufferWaitMs);
      }
    });
  }

  /**
   * Recover-then-verify in a worker; names bad shares when the optimistic path fails. Calls made in the same
   * event-loop turn share one task and one pairing per message.
   */
  recoverAndVerify(input: RecoverInput): Promise<RecoverResult> {
    if (this.closed) return Promise.reject(new BlsPoolError({code: "BLS_POOL_CLOSED"}, "BLS worker pool is closed"));
    return new Promise<RecoverResult>((resolve, reject) => {
      if (this.recoveries.length === 0) setImmediate(() => this.flushRecoveries());
      this.recoveries.push({input, resolve, reject});
    });
  }

  private flushRecoveries(): void {
    const all = this.recoveries;
    this.recoveries = [];
    for (const part of this.spread(all, MIN_RECOVERIES_PER_TASK)) void this.runRecoveries(part);
  }

  private async runRecoveries(batch: PendingRecovery[]): Promise<void> {
    let outcomes: RecoverOutcome[];
    try {
      const task: BlsTask = {kind: "recoverMany", items: batch.map((b) => b.input)};
      outcomes = (await this.piscina.run(task)) as RecoverOutcome[];
    } catch (e) {
      for (const b of batch) b.reject(e);
      return;
    }
    this.counters.tasksRun++;
    batch.forEach((b, i) => {
      const o = outcomes[i] as RecoverOutcome;
      this.counters.recoveries++;
      if ("error" in o) return b.reject(new ThresholdError(o.error.type, o.error.message));
      if (!o.result.ok) this.counters.recoveryFailures++;
      b.resolve(o.result);
    });
  }

  /**
   * Signs each message with its 32-byte secret in the workers, spread over them; the answers come back in order.
   * Each task's secrets travel in one buffer moved to its worker, which zeroes it; the caller keeps its own.
   */
  async signMany(items: {secret: Uint8Array; message: Uint8Array}[]): Promise<Uint8Array[]> {
    if (this.closed) throw new BlsPoolError({code: "BLS_POOL_CLOSED"}, "BLS worker pool is closed");
    // Checked before any secret is copied or any task sent: nothing half done to undo.
    const bad = items.find((it) => it.secret.length !== 32);
    if (bad) throw new RangeError(`a BLS secret key is 32 bytes, got ${bad.secret.length}`);
    const parts: Promise<Uint8Array[]>[] = [];
    for (const slice of this.spread(items, SIGN_IN_POOL_MIN)) {
      const secrets = new Uint8Array(32 * slice.length);
      slice.forEach((it, k) => secrets.set(it.secret, 32 * k));
      const task: BlsTask = {kind: "signMany", secrets, messages: slice.map((it) => it.message)};
      parts.push(this.piscina.run(task, {transferList: [secrets.buffer]}) as Promise<Uint8Array[]>);
    }
    const signed = (await Promise.all(parts)).flat();
    this.counters.tasksRun += parts.length;
    this.counters.signatures += signed.length;
    return signed;
  }

  /** `items` in one part per worker at most, each of at least `minPerTask` (one part when there are fewer). */
  private spread<T>(items: T[], minPerTask: number): T[][] {
    const tasks = Math.max(1, Math.min(this.size, Math.floor(items.length / minPerTask)));
    const per = Math.ceil(items.length / tasks);
    const parts: T[][] = [];
    for (let i = 0; i < items.length; i += per) parts.push(items.slice(i, i + per));
    return parts;
  }

  stats(): BlsPoolStats {
    return {size: this.size, queueSize: this.piscina.queueSize + this.buffer.length, ...this.counters};
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.flushRecoveries();
    this.closed = true;
    await this.piscina.close();
  }

  private async verifyNow(sets: SerializedSignatureSet[]): Promise<boolean> {
    const chunks: SerializedSignatureSet[][] = [];
    for (let i = 0; i < sets.length; i += MAX_SETS_PER_TASK) chunks.push(sets.slice(i, i + MAX_SETS_PER_TASK));
    const results = await Promise.all(chunks.map((c) => this.runVerify([c])));
    return results.every((r) => r.jobValid[0] === true);
  }

  private flush(): void {
    if (this.bufferTimer !== null) {
      clearTimeout(this.bufferTimer);
      this.bufferTimer = null;
    }
    const jobs = this.buffer;
    if (jobs.length === 0) return;
    this.buffer = [];
    this.bufferedSets = 0;
    this.runVerify(jobs.map((j) => j.sets)).then(
      (r) => jobs.forEach((j, i) => j.resolve(r.jobValid[i] === true)),
      (e) => jobs.forEach((j) => j.reject(e)),
    );
  }

  private async runVerify(jobs: SerializedSignatureSet[][]): Promise<VerifySetsResult> {
    const task: BlsTask = {kind: "verifySets", jobs};
    const result = (await this.piscina.run(task)) as VerifySetsResult;
    this.counters.tasksRun++;
    this.counters.setsVerified += jobs.reduce((n, j) => n + j.length, 0);
    if (result.fellBack) this.counters.batchFallbacks++;
    return result;
  }
}
