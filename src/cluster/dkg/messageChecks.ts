import {bytesEqual, toHex} from "../../hotpath/bytes.js";
import type {DkgAuthenticator} from "./authenticator.js";
import {type CommitmentPoints, parseCommitments} from "./feldman.js";
import {type Deal, type DkgMessage, dealDigest, helloBytes} from "./messages.js";
import {DkgError} from "./outcome.js";
import type {CeremonyRoles} from "./roles.js";

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

/** Why a ceremony cannot run with these parameters, or undefined. */
export function configProblem(c: CheckContext, roles: CeremonyRoles): string | undefined {
  const {operators: n, threshold: t, validators: v, self} = c;
  const {dealers, receivers, ownSecrets} = roles;
  if (!Number.isInteger(n) || n < 1 || n > 0xffff) return `operators must be 1..65535, got ${n}`;
  if (!Number.isInteger(receivers) || receivers < 1 || receivers > n) return `receivers must be 1..${n}`;
  if (dealers.length === 0 || dealers.some((d) => !Number.isInteger(d) || d < 1 || d > n))
    return `dealers must be participants 1..${n}`;
  if (ownSecrets !== undefined && (!dealers.includes(self) || ownSecrets.length !== v))
    return "only a dealer deals given secrets, one per validator";
  if (!Number.isInteger(t) || t < 1 || t > receivers) return `threshold must be 1..${receivers}, got ${t}`;
  if (!Number.isInteger(v) || v < 1 || v > 0xffff) return `validators must be 1..65535, got ${v}`;
  if (!Number.isInteger(self) || self < 1 || self > n) return `self must be 1..${n}, got ${self}`;
  if (c.definitionHash.length !== 32) return "the definition hash must be 32 bytes";
  return undefined;
}

/**
 * The hello round's checks: every operator holds our definition hash and signed it. Throws naming the operators
 * (in operator order, not arrival order, so every operator's error reads the same).
 */
export function checkHellos(
  received: Extract<DkgMessage, {kind: "hello"}>[],
  definitionHash: Uint8Array,
  auth: DkgAuthenticator,
): void {
  const hellos = [...received].sort((a, b) => a.from - b.from);
  const mismatched = hellos.filter((h) => !bytesEqual(h.definitionHash, definitionHash));
  if (mismatched.length > 0) {
    const operators = mismatched.map((h) => ({operator: h.from, definitionHash: toHex(h.definitionHash)}));
    throw new DkgError(
      {code: "DKG_DEFINITION_MISMATCH", expected: toHex(definitionHash), operators},
      `operator(s) ${operators.map((o) => `${o.operator} (hash ${o.definitionHash})`).join(", ")} hold a different ` +
        `definition than ours (${toHex(definitionHash)}); every operator must run the same cluster-definition.json`,
    );
  }
  const forged = hellos.filter((h) => !auth.verify(h.from, helloBytes(h.definitionHash), h.signature));
  if (forged.length > 0) {
    const operators = forged.map((h) => h.from);
    throw new DkgError(
      {code: "DKG_DEFINITION_SIGNATURE_INVALID", operators},
      `the definition signature of operator(s) ${operators.join(", ")} does not verify under their peer id`,
    );
  }
}
