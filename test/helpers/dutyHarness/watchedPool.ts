import {setTimeout as sleep} from "node:timers/promises";
import type {RecoverInput, RecoverResult} from "../../../src/hotpath/threshold.js";
import {BlsPool} from "../../../src/workers/blsPool.js";

/** One threshold recovery the pool ran: whose partials it had, and what came of them. */
export interface Recovery {
  shares: number[];
  ok: boolean;
  badShares: number[];
}

/**
 * The real BLS worker pool, telling a test what each threshold recovery was given and what it found, so a test
 * can order the cluster's messages around them instead of guessing with sleeps. `answerDelayMs` holds each answer
 * back (a worker behind on a loaded machine).
 */
export class WatchedPool extends BlsPool {
  /** Every recovery asked for, in order: whose partials it had and over which message (hex). */
  readonly started: {shares: Recovery["shares"]; message: string}[] = [];
  readonly answered: Recovery[] = [];
  answerDelayMs = 0;
  private readonly watchers = new Set<() => void>();

  override async recoverAndVerify(input: RecoverInput): Promise<RecoverResult> {
    const shares = input.partials.map((p) => p.shareIndex);
    this.started.push({shares, message: Buffer.from(input.message).toString("hex")});
    this.notify();
    const result = await super.recoverAndVerify(input);
    if (this.answerDelayMs > 0) await sleep(this.answerDelayMs);
    this.answered.push({shares, ok: result.ok, badShares: result.badShares});
    this.notify();
    return result;
  }

  /** Resolves once `done` holds, asked again after every recovery started and answered. */
  when(done: (pool: WatchedPool) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => done(this) && (this.watchers.delete(check), resolve());
      this.watchers.add(check);
      check();
    });
  }

  private notify(): void {
    for (const w of [...this.watchers]) w();
  }
}
