import type {InvalidHeadAnswer} from "./beacon.js";
import type {DutyRecord} from "./observer.js";
import type {VerdictRecord} from "./verification.js";

/** What became of one invalid head the devnet injected (`invalid-head@EPOCH`). */
export interface InvalidHeadLine {
  slot: number;
  root: string;
  /** Nodes (of those read at the end) whose newest verdict on the block is `invalid`, and the reasons they gave. */
  judgedInvalidBy: number[];
  reasons: string[];
  /**
   * Nodes read at the end that ran attester duties at its slot and did not judge it invalid (no verdict, or
   * another one): each is a defect, since their duties asked about it. A node down or still starting then never
   * heard of the block (a restarted node's catch-up verifies the canonical chain, without it).
   */
  notJudgedBy: number[];
  /** Signatures over it the devnet received: votes naming it as head, sync messages, blocks built on it. */
  attesters: number;
  syncMembers: number;
  childBlocks: number;
  /** What the nodes' duty results of the slot say they proposed to vote for instead, per root: results. */
  votedInstead: {root: string; results: number}[];
}

/** Joins the devnet's record of each invalid head with the nodes' verdicts and duty results. */
export function invalidHeadLines(
  heads: InvalidHeadAnswer[],
  verdicts: VerdictRecord[],
  verdictsFrom: number[],
  duties: DutyRecord[],
): InvalidHeadLine[] {
  return heads.map((h) => {
    const root = h.root.toLowerCase();
    const newest = new Map<number, VerdictRecord>();
    for (const v of verdicts) if (v.root.toLowerCase() === root) newest.set(v.node, v);
    const judgedInvalidBy = verdictsFrom.filter((n) => newest.get(n)?.status === "invalid");
    const instead = new Map<string, number>();
    for (const d of duties)
      if (d.slot === h.slot && d.headReplaced?.from.toLowerCase() === root)
        instead.set(d.headReplaced.to, (instead.get(d.headReplaced.to) ?? 0) + 1);
    return {
      slot: h.slot,
      root,
      judgedInvalidBy,
      reasons: [...new Set(judgedInvalidBy.map((n) => newest.get(n)?.reason ?? "?"))],
      notJudgedBy: verdictsFrom.filter(
        (n) =>
          !judgedInvalidBy.includes(n) &&
          duties.some((d) => d.node === n && d.slot === h.slot && d.duty === "attester"),
      ),
      attesters: h.attesters.length,
      syncMembers: h.syncMembers.length,
      childBlocks: h.childSlots.length,
      votedInstead: [...instead].map(([r, results]) => ({root: r, results})),
    };
  });
}

/** Signatures over invalid heads, all kinds together: the number the run's target wants zero. */
export function signaturesOverInvalid(lines: InvalidHeadLine[]): number {
  return lines.reduce((a, l) => a + l.attesters + l.syncMembers + l.childBlocks, 0);
}
