import {toHex} from "../../hotpath/bytes.js";

/**
 * One run of a ceremony by one participant: a random id and when it started on that participant's own clock.
 * Every message carries its sender's attempt, so a receiver tells a participant's current run from an earlier one
 * (of this process, or of a process that was killed and started again) whose messages are still on their way.
 */
export interface Attempt {
  session: Uint8Array;
  /** ms on the sender's clock, strictly increasing over its attempts: only compared with the same sender's. */
  startedAt: number;
}

/** What to do with a message given its sender's attempt. */
export type AttemptVerdict =
  /** The sender's current attempt: to the ceremony. */
  | "deliver"
  /** An attempt the sender has left: dropped. */
  | "stale"
  /**
   * The sender started anew while this participant was still in the hello round: what the ceremony holds from it
   * is forgotten, and the message is delivered as its new attempt's.
   */
  | "replaced"
  /**
   * The sender started anew after this participant had dealt: its polynomials and what it received are gone, so
   * this attempt cannot finish; this participant starts a new one too (the message is kept for it).
   */
  | "restart";

/**
 * The receiving side of attempts. Within this participant's attempt, each sender's first attempt seen is its
 * current one; an older one is stale; a newer one replaces it while the hello round is open, and restarts the
 * ceremony after. A new attempt of this participant remembers every sender's attempt so far as stale, so the
 * others' new attempts are accepted as theirs without restarting again (no cascade of restarts).
 */
export class AttemptFilter {
  private readonly current = new Map<number, Attempt>();
  /** Per sender, the newest attempt this participant has already left behind: it and older ones are stale. */
  private readonly left = new Map<number, number>();

  judge(from: number, attempt: Attempt, helloOpen: boolean): AttemptVerdict {
    if (attempt.startedAt <= (this.left.get(from) ?? -Infinity)) return "stale";
    const cur = this.current.get(from);
    if (cur === undefined) {
      this.current.set(from, attempt);
      return "deliver";
    }
    if (toHex(cur.session) === toHex(attempt.session)) return "deliver";
    if (attempt.startedAt < cur.startedAt) return "stale";
    if (helloOpen) {
      this.left.set(from, cur.startedAt);
      this.current.set(from, attempt);
      return "replaced";
    }
    return "restart";
  }

  /** This participant starts a new attempt: every sender's attempt seen so far is left behind. */
  restart(): void {
    for (const [from, a] of this.current) this.left.set(from, Math.max(a.startedAt, this.left.get(from) ?? -Infinity));
    this.current.clear();
  }
}

/** Enough that two runs of one operator never share an id. */
const ATTEMPT_ID_BYTES = 16;

/** A new attempt of this participant, later than `previous` even within one millisecond. */
export function nextAttempt(random: (bytes: number) => Uint8Array, previous?: Attempt): Attempt {
  const now = Date.now();
  const startedAt = previous === undefined ? now : Math.max(now, previous.startedAt + 1);
  return {session: random(ATTEMPT_ID_BYTES), startedAt};
}
