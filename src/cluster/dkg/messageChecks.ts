import type {DkgAuthenticator} from "./authenticator.js";
import {type CommitmentPoints, parseCommitments} from "./feldman.js";
import {type Deal, type DkgMessage, SESSION_BYTES, dealDigest} from "./messages.js";

/** A BLS12-381 scalar (a secret share), big-endian. */
const SHARE_BYTES = 32;

export interface CheckContext {
  /** The 32-byte definition hash every operator must hold. */
  definitionHash: Uint8Array;
  operators: number;
  threshold: number;
  validators: number;
  /** This operator's 1-based index in the definition. */
  self: number;
  auth: DkgAuthenticator;
}

/**
 * Structural checks of a received message, so the rounds handle only well-formed content: the problem, or
 * undefined. Deals are checked point by point by `parseDeal`.
 */
export function shapeProblem(m: DkgMessage, c: CheckContext): string | undefined {
  const {validators: v, operators: n} = c;
  const sharesOk = (shares: Uint8Array[]) => shares.length === v && shares.every((s) => s.length === SHARE_BYTES);
  switch (m.kind) {
    case "hello":
      if (m.session.length !== SESSION_BYTES) return `session id is not ${SESSION_BYTES} bytes`;
      return m.definitionHash.length === 32 ? undefined : "definition hash is not 32 bytes";
    case "deal":
      return undefined;
    case "share":
      if (m.to !== c.self) return `addressed to operator ${m.to}`;
      return sharesOk(m.shares) ? undefined : `expected ${v} shares of ${SHARE_BYTES} bytes`;
    case "echo":
      return m.deals.length === n ? undefined : `expected ${n} entries`;
    case "complaint":
      return m.complaints.every((x) => x.dealer >= 1 && x.dealer <= n && (!x.evidence || sharesOk(x.evidence.shares)))
        ? undefined
        : "a complaint names no operator or carries malformed evidence";
    case "answer":
      return m.reveals.every((r) => sharesOk(r.shares))
        ? undefined
        : `a reveal is not ${v} shares of ${SHARE_BYTES} bytes`;
  }
}

/** A deal must carry its dealer's signature and V x t valid G1 points; returns them parsed, or the problem. */
export function parseDeal(d: Deal & {from: number}, c: CheckContext): CommitmentPoints[] | string {
  const {validators: v, threshold: t} = c;
  if (d.commitments.length !== v || d.commitments.some((x) => x.length !== t))
    return `expected ${v} x ${t} commitments`;
  const digest = dealDigest(c.definitionHash, d.from, d.commitments);
  if (!c.auth.verify(d.from, digest, d.signature)) return "the dealer's signature does not verify";
  const points: CommitmentPoints[] = [];
  for (const x of d.commitments) {
    const parsed = parseCommitments(x);
    if (parsed === undefined) return "a commitment is not a valid G1 point";
    points.push(parsed);
  }
  return points;
}
