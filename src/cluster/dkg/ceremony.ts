import {DigestBook} from "./digestBook.js";
import {type CommitmentPoints, deal, verifyShare} from "./feldman.js";
import {type CheckContext, checkHellos, configProblem, parseDeal, shapeProblem} from "./messageChecks.js";
import {type CeremonyRoles, dkgRoles} from "./roles.js";
import {
  type Complaint,
  DKG_ROUNDS,
  type DkgMessage,
  type DkgRound,
  type Equivocation,
  dealDigest,
  helloBytes,
  roundOf,
  shareDigest,
} from "./messages.js";
import {
  type AnsweredComplaint,
  type Disqualification,
  DkgError,
  type DkgFault,
  type DkgResult,
  type DisqualifyReason,
} from "./outcome.js";

/**
 * The ceremony's parameters (definition hash, participants, the new threshold, V, this participant, its signer)
 * and its entropy. `operators` counts every participant.
 */
export interface DkgConfig extends CheckContext {
  /** The polynomials' entropy: the OS CSPRNG in a ceremony; tests may pass a seeded one to replay a run. */
  random: (bytes: number) => Uint8Array;
  /** Who deals and who receives: default a DKG, every participant both. */
  roles?: CeremonyRoles;
}

/** A message to send: to one operator, or to every other operator when `to` is absent. */
export interface Outgoing {
  to?: number;
  message: DkgMessage;
}

type Stored = {[K in DkgMessage["kind"]]: Map<number, Extract<DkgMessage, {kind: K}>>};

/**
 * Joint-Feldman DKG (Pedersen 1991, with the complaint round of Gennaro, Jarecki, Krawczyk and Rabin 1999) for
 * V validators at once, as a deterministic, transport-agnostic state machine: the transport delivers messages
 * (`receive`) and decides when a round ends (`waitingFor` empty, or its deadline); `advance` closes the round and
 * returns what to send next; after the answer round it returns the keys.
 *
 * Agreement: the commitments each operator received are echoed as dealer-signed digests, so a dealer that sent
 * two operators different commitments is caught by its own two signatures, and every complaint and answer is a
 * broadcast. With a broadcast that reaches every honest operator in its round, all honest operators decide the
 * same qualified set and keys. A faulty operator that relays an equivocation proof to some operators only can
 * split their views about that (provably cheating) dealer; the lock every operator signs over the resulting
 * keys then differs, and the lock step refuses the ceremony, so views never diverge silently.
 */
export class DkgCeremony {
  private round = 0;
  private finished = false;
  private readonly got: Stored = {
    hello: new Map(),
    deal: new Map(),
    share: new Map(),
    echo: new Map(),
    complaint: new Map(),
    answer: new Map(),
  };
  private readonly faults: DkgFault[] = [];
  private readonly disqualified = new Map<number, Disqualification>();
  /** Shares this operator dealt: [recipient-1][validator], kept to answer complaints (the polynomial is gone). */
  private dealt: Uint8Array[][] = [];
  private readonly digests: DigestBook;
  /** Each stored deal's commitments, parsed once: [validator][k]. */
  private readonly points = new Map<number, CommitmentPoints[]>();
  /** Complaints in force after the complaint round: dealer -> complainer -> complaint. */
  private readonly complaints = new Map<number, Map<number, Complaint>>();
  private readonly roles: CeremonyRoles;

  constructor(private readonly cfg: DkgConfig) {
    this.digests = new DigestBook(cfg.auth);
    const {operators: n, threshold: t, validators: v} = cfg;
    this.roles = cfg.roles ?? dkgRoles(n, t, v);
    const problem = configProblem(cfg, this.roles);
    if (problem !== undefined)
      throw new DkgError({code: "DKG_BAD_CONFIG", reason: problem}, `DKG configuration: ${problem}`);
  }

  get currentRound(): DkgRound | "done" {
    return this.finished ? "done" : (DKG_ROUNDS[this.round] as DkgRound);
  }

  /** The first round's messages: this operator's signature over the definition hash it holds. */
  start(): Outgoing[] {
    const {definitionHash, self, auth} = this.cfg;
    const hello: DkgMessage = {
      kind: "hello",
      from: self,
      definitionHash,
      signature: auth.sign(helloBytes(definitionHash)),
    };
    this.store(hello);
    return [{message: hello}];
  }

  /** Takes one message from the transport. Malformed, duplicate and late messages are dropped and named as faults. */
  receive(message: DkgMessage): void {
    const {from} = message;
    const round = roundOf(message.kind);
    if (!Number.isInteger(from) || from < 1 || from > this.cfg.operators) return;
    const index = DKG_ROUNDS.indexOf(round);
    if (this.finished || index < this.round) return this.fault(from, round, "late", `${message.kind} after its round`);
    if ((this.got[message.kind] as Map<number, DkgMessage>).has(from))
      return this.fault(from, round, "duplicate", `a second ${message.kind}; the first is kept`);
    const problem = shapeProblem(message, this.cfg) ?? this.store(message);
    if (problem !== undefined) this.fault(from, round, "malformed", `${message.kind}: ${problem}`);
  }

  /**
   * Drops everything received from `operator`: it started again during the hello round (the transport tells
   * its runs apart), and what its earlier run sent must not count in this ceremony.
   */
  forget(operator: number): void {
    if (this.round !== 0) throw new DkgError({code: "DKG_FINISHED", round: this.currentRound}, "forget after hello");
    for (const kind of Object.keys(this.got) as DkgMessage["kind"][])
      (this.got[kind] as Map<number, unknown>).delete(operator);
    this.points.delete(operator);
  }

  /** Operators whose message for the current round has not arrived: the transport waits for them, then names them. */
  waitingFor(): number[] {
    const round = this.currentRound;
    if (round === "done") return [];
    if (round === "deal") {
      // Only dealers send in this round: their deal, and this participant's shares if it receives.
      const receiving = this.receives(this.cfg.self);
      return this.roles.dealers.filter((i) => !this.got.deal.has(i) || (receiving && !this.got.share.has(i)));
    }
    return this.operators().filter((i) => !this.got[round].has(i));
  }

  /**
   * Closes the current round. Returns the next round's messages, or the keys after the last round. Throws a
   * DkgError when the ceremony cannot succeed (definition mismatch, missing operators at the start, too few
   * qualified dealers); the ceremony is then over.
   */
  advance(): Outgoing[] | DkgResult {
    const round = this.currentRound;
    if (round === "done") throw new DkgError({code: "DKG_FINISHED", round}, "the DKG ceremony is over");
    try {
      switch (round) {
        case "hello":
          return this.next(this.closeHello());
        case "deal":
          return this.next(this.closeDeal());
        case "echo":
          return this.next(this.closeEcho());
        case "complaint":
          return this.next(this.closeComplaint());
        case "answer":
          this.finished = true;
          return this.closeAnswer();
      }
    } catch (e) {
      this.finished = true;
      throw e;
    }
  }

  private next(out: Outgoing[]): Outgoing[] {
    this.round++;
    // Messages of the new round that arrived early were stored already; own messages go in now.
    for (const o of out) if (o.to === undefined || o.to === this.cfg.self) this.store(o.message);
    return out.filter((o) => o.to !== this.cfg.self);
  }

  /** Stores a well-formed message; a deal only once its commitments parse and its signature verifies. */
  private store(message: DkgMessage): string | undefined {
    if ((message.kind === "deal" || message.kind === "share") && !this.deals(message.from))
      return `operator ${message.from} is no dealer of this ceremony`;
    if (message.kind === "deal") {
      const parsed = parseDeal(message, this.cfg);
      if (typeof parsed === "string") return parsed;
      this.points.set(message.from, parsed);
    }
    (this.got[message.kind] as Map<number, DkgMessage>).set(message.from, message);
    return undefined;
  }

  private fault(operator: number, round: DkgRound, reason: DkgFault["reason"], detail: string): void {
    this.faults.push({operator, round, reason, detail});
  }

  private disqualify(dealer: number, reason: DisqualifyReason, complainers: number[], detail: string): void {
    if (!this.disqualified.has(dealer)) this.disqualified.set(dealer, {dealer, reason, complainers, detail});
  }

  private operators(): number[] {
    return Array.from({length: this.cfg.operators}, (_, k) => k + 1);
  }

  private receives(participant: number): boolean {
    return participant <= this.roles.receivers;
  }

  private deals(participant: number): boolean {
    return this.roles.dealers.includes(participant);
  }

  private closeHello(): Outgoing[] {
    const {definitionHash, auth, threshold: t, validators: v, self} = this.cfg;
    checkHellos([...this.got.hello.values()], definitionHash, auth);
    this.throwIfMissing("hello");
    if (!this.deals(self)) return [];
    const {receivers, ownSecrets} = this.roles;
    const perValidator = Array.from({length: v}, (_, j) => deal(t, receivers, this.cfg.random, ownSecrets?.[j]));
    const commitments = perValidator.map((d) => d.commitments);
    const to = Array.from({length: receivers}, (_, k) => k + 1);
    this.dealt = to.map((i) => perValidator.map((d) => d.shares[i - 1] as Uint8Array));
    const signature = auth.sign(dealDigest(definitionHash, self, commitments));
    const shares = to.map((to) => {
      const s = this.dealt[to - 1] as Uint8Array[];
      return {
        kind: "share" as const,
        from: self,
        to,
        shares: s,
        signature: auth.sign(shareDigest(definitionHash, self, to, s)),
      };
    });
    return [
      {message: {kind: "deal", from: self, commitments, signature}},
      ...shares.map((m) => ({to: m.to, message: m})),
    ];
  }

  /** Everyone must say hello: a DKG among fewer operators than the definition names would lock some of them out. */
  private throwIfMissing(round: DkgRound): void {
    const missing = this.waitingFor();
    if (missing.length === 0) return;
    throw new DkgError(
      {code: "DKG_OPERATORS_MISSING", round, operators: missing},
      `operator(s) ${missing.join(", ")} did not answer in the ${round} round; check that they run r3dv dkg with ` +
        `this definition and that their addresses are reachable`,
    );
  }

  private closeDeal(): Outgoing[] {
    const deals = this.operators().map((i) => {
      const d = this.got.deal.get(i);
      if (d === undefined) return null;
      const digest = dealDigest(this.cfg.definitionHash, i, d.commitments);
      this.digests.see(i, {digest, signature: d.signature});
      return {digest, signature: d.signature};
    });
    return [{message: {kind: "echo", from: this.cfg.self, deals}}];
  }

  private closeEcho(): Outgoing[] {
    for (const echo of this.got.echo.values()) {
      echo.deals.forEach((d, k) => {
        if (d !== null && !this.digests.see(k + 1, d))
          this.fault(echo.from, "echo", "forged_echo", `echoed a digest operator ${k + 1} did not sign`);
      });
    }
    const complaints: Complaint[] = [];
    const equivocations: Equivocation[] = [];
    for (const dealer of this.roles.dealers) {
      const proof = this.digests.equivocation(dealer);
      if (proof !== undefined) {
        equivocations.push(proof);
        continue;
      }
      if (!this.receives(this.cfg.self)) continue;
      const reason = this.ownComplaint(dealer);
      if (reason !== undefined) complaints.push(reason);
    }
    return [{message: {kind: "complaint", from: this.cfg.self, complaints, equivocations}}];
  }

  /** Whether `shares` (one per validator) are the dealer's polynomials at `recipient`; false without its deal. */
  private sharesMatch(dealer: number, recipient: number, shares: Uint8Array[]): boolean {
    const points = this.points.get(dealer);
    return points !== undefined && shares.every((s, v) => verifyShare(points[v] as CommitmentPoints, recipient, s));
  }

  /** What this operator holds against a dealer after the echoes, if anything. */
  private ownComplaint(dealer: number): Complaint | undefined {
    const d = this.got.deal.get(dealer);
    if (d === undefined) return {dealer, reason: "missing_deal"};
    const s = this.got.share.get(dealer);
    if (s === undefined) return {dealer, reason: "missing_share"};
    return this.sharesMatch(dealer, this.cfg.self, s.shares)
      ? undefined
      : {dealer, reason: "bad_share", evidence: {shares: s.shares, signature: s.signature}};
  }

  private closeComplaint(): Outgoing[] {
    const {self, definitionHash, auth} = this.cfg;
    // In operator order, not arrival order: complainers, answers and faults then read the same everywhere.
    const received = [...this.got.complaint.values()].sort((a, b) => a.from - b.from);
    for (const c of received) {
      for (const e of c.equivocations) {
        this.digests.see(e.dealer, e.a);
        this.digests.see(e.dealer, e.b);
      }
    }
    for (const dealer of this.roles.dealers) {
      if (this.digests.equivocation(dealer) !== undefined)
        this.disqualify(dealer, "equivocated", [], `operator ${dealer} signed two different sets of commitments`);
    }
    for (const c of received) {
      for (const complaint of c.complaints) {
        if (!this.receives(c.from) || !this.deals(complaint.dealer)) {
          this.fault(
            c.from,
            "complaint",
            "malformed",
            `complained about operator ${complaint.dealer}'s shares it does not receive`,
          );
          continue;
        }
        let against = this.complaints.get(complaint.dealer);
        if (against === undefined) this.complaints.set(complaint.dealer, (against = new Map()));
        against.set(c.from, complaint);
        const e = complaint.evidence;
        // Shares the dealer signed that match its commitments: the complainer accused an honest dealer.
        if (
          e !== undefined &&
          auth.verify(complaint.dealer, shareDigest(definitionHash, complaint.dealer, c.from, e.shares), e.signature) &&
          this.sharesMatch(complaint.dealer, c.from, e.shares)
        ) {
          this.fault(
            c.from,
            "complaint",
            "false_complaint",
            `accused operator ${complaint.dealer} of a share that is correct`,
          );
        }
      }
    }
    const mine = this.complaints.get(self) ?? new Map<number, Complaint>();
    const reveals = [...mine.keys()].map((to) => ({to, shares: this.dealt[to - 1] as Uint8Array[]}));
    const own = this.got.deal.get(self);
    const needDeal = [...mine.values()].some((c) => c.reason === "missing_deal");
    const deal = needDeal && own ? {commitments: own.commitments, signature: own.signature} : undefined;
    return [{message: {kind: "answer", from: self, reveals, ...(deal ? {deal} : {})}}];
  }

  private closeAnswer(): DkgResult {
    const answered: AnsweredComplaint[] = [];
    for (const [dealer, against] of [...this.complaints].sort(([a], [b]) => a - b)) {
      if (this.disqualified.has(dealer)) continue;
      const outcome = this.judgeAnswer(dealer, against);
      if (outcome === undefined) {
        for (const [complainer, c] of against) answered.push({dealer, complainer, reason: c.reason});
      } else {
        this.disqualify(dealer, outcome.reason, [...against.keys()], outcome.detail);
      }
    }
    for (const dealer of this.roles.dealers) {
      if (this.disqualified.has(dealer)) continue;
      // A receiver holds every qualified dealer's deal (it complained otherwise); a participant that only deals
      // may have missed one, and its view does not matter: it gets no keys and signs no lock.
      const points = this.points.get(dealer);
      const wrong = points === undefined ? undefined : this.roles.wrongSecret(dealer, points);
      if (wrong !== undefined) this.disqualify(dealer, "wrong_secret", [], wrong);
    }
    const qualified = this.roles.dealers.filter((i) => !this.disqualified.has(i));
    const disqualified = [...this.disqualified.values()].sort((a, b) => a.dealer - b.dealer);
    const threshold = this.roles.minQualified;
    if (qualified.length < threshold) {
      throw new DkgError(
        {code: "DKG_TOO_FEW_QUALIFIED", threshold, qualified, disqualified},
        `only ${qualified.length} dealer(s) qualified (${qualified.join(", ") || "none"}), fewer than the threshold ` +
          `${threshold}: ${disqualified.map((d) => `operator ${d.dealer} disqualified (${d.reason}: ${d.detail})`).join("; ")}`,
      );
    }
    const validators = this.receives(this.cfg.self) ? this.keys(qualified) : [];
    return {qualified, disqualified, answered, faults: this.faults, validators};
  }

  /**
   * An accused dealer must reveal, for every complainer, shares that match its commitments, and its signed
   * deal if anyone missed it. Adopts what it reveals to this operator. Undefined when the dealer answered all.
   */
  private judgeAnswer(
    dealer: number,
    against: Map<number, Complaint>,
  ): {reason: DisqualifyReason; detail: string} | undefined {
    const {self, definitionHash} = this.cfg;
    const answer = this.got.answer.get(dealer);
    const who = [...against.keys()].join(", ");
    if (answer === undefined) return {reason: "unanswered_complaint", detail: `sent no answer to operator(s) ${who}`};
    if (answer.deal !== undefined) {
      const digest = dealDigest(definitionHash, dealer, answer.deal.commitments);
      this.digests.see(dealer, {digest, signature: answer.deal.signature});
      if (this.digests.equivocation(dealer) !== undefined)
        return {reason: "equivocated", detail: "answered with commitments other than those it dealt"};
      const problem = this.got.deal.has(dealer) ? undefined : this.store({kind: "deal", from: dealer, ...answer.deal});
      if (problem !== undefined)
        return {reason: "bad_answer", detail: `answered with a deal that is malformed: ${problem}`};
    }
    if (!this.got.deal.has(dealer))
      return {reason: "unanswered_complaint", detail: `did not reveal its deal to operator(s) ${who}`};
    for (const complainer of against.keys()) {
      const reveal = answer.reveals.find((r) => r.to === complainer);
      if (reveal === undefined)
        return {reason: "unanswered_complaint", detail: `did not reveal the shares of operator ${complainer}`};
      if (!this.sharesMatch(dealer, complainer, reveal.shares))
        return {reason: "bad_answer", detail: `revealed shares of operator ${complainer} that fail its commitments`};
      if (complainer === self) {
        this.got.share.set(dealer, {
          kind: "share",
          from: dealer,
          to: self,
          shares: reveal.shares,
          signature: new Uint8Array(),
        });
      }
    }
    return undefined;
  }

  /** Combines the qualified dealers' commitments and this operator's shares from them, and checks the two agree. */
  private keys(qualified: number[]): DkgResult["validators"] {
    return this.roles.combine(
      qualified,
      qualified.map((i) => this.points.get(i) as CommitmentPoints[]),
      qualified.map((i) => (this.got.share.get(i) as {shares: Uint8Array[]}).shares),
      this.cfg.self,
    );
  }
}
