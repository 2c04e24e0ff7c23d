import {toHex} from "../../hotpath/bytes.js";
import type {DkgAuthenticator} from "./authenticator.js";
import type {Equivocation, SignedDigest} from "./messages.js";

/**
 * Every commitment digest a dealer signed that this operator has seen (its own receipt, others' echoes, relayed
 * proofs, an answer's deal). Two different ones are the dealer's own proof that it equivocated.
 */
export class DigestBook {
  private readonly byDealer = new Map<number, Map<string, SignedDigest>>();

  constructor(private readonly auth: DkgAuthenticator) {}

  /** Records a digest if the dealer signed it; returns false for a forgery, which is not recorded. */
  see(dealer: number, d: SignedDigest): boolean {
    if (!this.auth.verify(dealer, d.digest, d.signature)) return false;
    let seen = this.byDealer.get(dealer);
    if (seen === undefined) this.byDealer.set(dealer, (seen = new Map()));
    if (!seen.has(toHex(d.digest))) seen.set(toHex(d.digest), d);
    return true;
  }

  equivocation(dealer: number): Equivocation | undefined {
    const [a, b] = [...(this.byDealer.get(dealer)?.values() ?? [])];
    return a !== undefined && b !== undefined ? {dealer, a, b} : undefined;
  }
}
