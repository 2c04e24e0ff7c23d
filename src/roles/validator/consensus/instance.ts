import {bytesEqual, toHex} from "../../../hotpath/bytes.js";
import {faultTolerance, qbftQuorum} from "./quorum.js";
import type {QbftConfig, QbftMessage, QbftOutput, QbftType, SignedQbft} from "./types.js";

/**
 * Messages for rounds further ahead than this are refused. Round timeouts grow with the round, so an honest
 * node is never more than a few rounds ahead within one slot; the bound stops a byzantine peer from making
 * us store messages for millions of future rounds.
 */
export const MAX_FUTURE_ROUNDS = 16;

const key = (type: QbftType, round: number, sender: number) => `${type}/${round}/${sender}`;

/**
 * One QBFT consensus instance as a pure state machine: inputs are `start`, `receive` and `tick` (all given
 * the current time), outputs are messages to broadcast and, once, a decision. No I/O, no timers of its own:
 * the driver calls `tick` at `nextDeadline()`. Round deadlines are absolute (anchored to the slot), so a node
 * that starts late computes the same round as everyone else and joins it.
 */
export class QbftInstance {
  private round = 0;
  private started = false;
  private input: Uint8Array | null = null;
  private preparedRound = 0;
  private preparedValue: Uint8Array | null = null;
  private preparedJustification: SignedQbft[] = [];
  private decision: {value: Uint8Array; round: number} | null = null;
  private decidedProof: SignedQbft | null = null;
  /** Rounds of peers' ROUND_CHANGEs already answered with the decision proof: once each, so a peer cannot make us flood. */
  private readonly resentFor = new Set<number>();
  private readonly messages = new Map<string, SignedQbft>();
  private readonly sent = new Set<string>();
  private readonly judged = new Map<string, boolean>();
  private readonly quorum: number;
  private readonly f: number;
  private out: QbftOutput = {broadcast: [], rejected: []};

  constructor(private readonly cfg: QbftConfig) {
    this.quorum = qbftQuorum(cfg.n);
    this.f = faultTolerance(cfg.n);
  }

  get currentRound(): number {
    return this.round;
  }

  get decided(): {value: Uint8Array; round: number} | null {
    return this.decision;
  }

  /** When the driver must call `tick` next; undefined once decided (the timer stops). */
  nextDeadline(): number | undefined {
    return this.started && !this.decision ? this.cfg.roundDeadline(this.round) : undefined;
  }

  start(input: Uint8Array, now: number): QbftOutput {
    if (this.started) return this.flush();
    this.started = true;
    this.input = input;
    this.round = 1;
    while (now >= this.cfg.roundDeadline(this.round)) this.round++;
    if (this.round > 1) this.sendRoundChange();
    else if (this.cfg.leader(1) === this.cfg.self) this.sendPrePrepare(1, input, []);
    this.evaluate();
    return this.flush();
  }

  receive(signed: SignedQbft, _now: number): QbftOutput {
    const reason = this.validate(signed);
    const {msg} = signed;
    if (reason) {
      this.out.rejected.push({from: msg?.sender ?? 0, type: msg?.type ?? "unknown", round: msg?.round ?? 0, reason});
      return this.flush();
    }
    if (msg.type === "DECIDED") {
      if (!this.decision) this.decide(msg.value as Uint8Array, msg.round, signed.justification);
      return this.flush();
    }
    if (msg.type === "ROUND_CHANGE" && this.decidedProof && !this.resentFor.has(msg.round)) {
      // A peer is still trying to agree on something we decided: hand it the proof.
      this.resentFor.add(msg.round);
      this.out.broadcast.push(this.decidedProof);
    }
    const k = key(msg.type, msg.round, msg.sender);
    const existing = this.messages.get(k);
    if (existing) {
      if (!sameMessage(existing.msg, msg))
        this.out.rejected.push({from: msg.sender, type: msg.type, round: msg.round, reason: "equivocation"});
      return this.flush();
    }
    this.messages.set(k, signed);
    if (this.started) this.evaluate();
    return this.flush();
  }

  tick(now: number): QbftOutput {
    if (!this.started || this.decision) return this.flush();
    const before = this.round;
    while (now >= this.cfg.roundDeadline(this.round)) this.round++;
    if (this.round !== before) {
      this.sendRoundChange();
      this.evaluate();
    }
    return this.flush();
  }

  private flush(): QbftOutput {
    const out = this.out;
    this.out = {broadcast: [], rejected: []};
    return out;
  }

  // ---- validation ---------------------------------------------------------------------------------------

  private validate(signed: SignedQbft): string | null {
    const msg = signed?.msg;
    if (!msg || typeof msg !== "object") return "malformed";
    if (msg.instance !== this.cfg.instance) return "wrong instance";
    if (!Number.isInteger(msg.sender) || msg.sender < 1 || msg.sender > this.cfg.n) return "unknown sender";
    if (!Number.isInteger(msg.round) || msg.round < 1) return "bad round";
    if (msg.round > Math.max(this.round, 1) + MAX_FUTURE_ROUNDS) return "round too far ahead";
    const own = this.checkOwn(signed);
    if (own) return own;
    switch (msg.type) {
      case "PRE_PREPARE":
        if (msg.sender !== this.cfg.leader(msg.round)) return "pre-prepare from a non-leader";
        // The value's validity is judged when the proposal is acted on (onPrePrepare), after this node has
        // started with its own view: a proposal that arrives early waits instead of being judged blind.
        if (!msg.value) return "invalid proposed value";
        return this.justifyPrePrepare(signed) ? null : "unjustified pre-prepare";
      case "PREPARE":
      case "COMMIT":
        return msg.valueHash ? null : "missing value hash";
      case "DECIDED":
        if (!msg.value || !msg.valueHash) return "missing value";
        return this.isQuorumOf("COMMIT", signed.justification, msg.round, msg.valueHash)
          ? null
          : "unjustified decision";
      case "ROUND_CHANGE":
        if (msg.preparedRound === 0) return msg.valueHash === null ? null : "value without a prepared round";
        if (msg.preparedRound >= msg.round || !msg.value || !msg.valueHash) return "bad prepared round";
        return this.isPrepareQuorum(signed.justification, msg.preparedRound, msg.valueHash)
          ? null
          : "unjustified prepared value";
      default:
        return "unknown type";
    }
  }

  /** Signature, and the value matching its hash; what every message (embedded ones too) must pass. */
  private checkOwn(signed: SignedQbft): string | null {
    const {msg} = signed;
    if (msg.instance !== this.cfg.instance || msg.sender < 1 || msg.sender > this.cfg.n) return "malformed";
    if (!(signed.sig instanceof Uint8Array) || !this.cfg.crypto.verify(msg, signed.sig)) return "bad signature";
    if (msg.value && (!msg.valueHash || !bytesEqual(this.cfg.crypto.hash(msg.value), msg.valueHash)))
      return "value does not match its hash";
    return null;
  }

  private isPrepareQuorum(msgs: SignedQbft[], round: number, hash: Uint8Array): boolean {
    return this.isQuorumOf("PREPARE", msgs, round, hash);
  }

  private isQuorumOf(type: QbftType, msgs: SignedQbft[], round: number, hash: Uint8Array): boolean {
    const senders = new Set<number>();
    for (const s of msgs ?? []) {
      if (s.msg.type !== type || s.msg.round !== round || !s.msg.valueHash || !bytesEqual(s.msg.valueHash, hash))
        continue;
      if (this.checkOwn(s) === null) senders.add(s.msg.sender);
    }
    return senders.size >= this.quorum;
  }

  /** Moniz's JustifyPrePrepare: round 1, or a quorum of round changes that either never prepared or whose highest prepared value is the one proposed, proven by a prepare quorum. */
  private justifyPrePrepare(signed: SignedQbft): boolean {
    const {msg} = signed;
    if (msg.round === 1) return true;
    const rcs = new Map<number, QbftMessage>();
    for (const s of signed.justification ?? []) {
      if (s.msg.type === "ROUND_CHANGE" && s.msg.round === msg.round && this.checkOwn(s) === null)
        rcs.set(s.msg.sender, s.msg);
    }
    if (rcs.size < this.quorum) return false;
    const highest = highestPrepared([...rcs.values()]);
    if (!highest) return true;
    return (
      !!msg.valueHash &&
      bytesEqual(highest.valueHash, msg.valueHash) &&
      this.isPrepareQuorum(signed.justification, highest.round, highest.valueHash)
    );
  }

  // ---- rules --------------------------------------------------------------------------------------------

  /** Applies every upon-rule until none fires; each rule fires at most once per round. */
  private evaluate(): void {
    for (let changed = true; changed;) {
      changed =
        this.onPrePrepare() ||
        this.onPrepareQuorum() ||
        this.onCommitQuorum() ||
        this.onRoundChangeSkip() ||
        this.onRoundChangeQuorum();
    }
  }

  private ofType(type: QbftType, round?: number): SignedQbft[] {
    const out: SignedQbft[] = [];
    for (const s of this.messages.values())
      if (s.msg.type === type && (round === undefined || s.msg.round === round)) out.push(s);
    return out;
  }

  /** A justified proposal for this round, or for a later one (its justification proves a quorum moved there). */
  private onPrePrepare(): boolean {
    const pps = this.ofType("PRE_PREPARE").filter(
      (s) => s.msg.round >= this.round && !this.sent.has(key("PREPARE", s.msg.round, this.cfg.self)) && this.judge(s),
    );
    const pp = pps.sort((a, b) => b.msg.round - a.msg.round)[0];
    if (!pp) return false;
    this.round = pp.msg.round;
    this.send({type: "PREPARE", round: pp.msg.round, valueHash: pp.msg.valueHash, value: null, preparedRound: 0}, []);
    return true;
  }

  /** Application validity of a proposal, judged once; an invalid one is refused (and the round times out). */
  private judge(pp: SignedQbft): boolean {
    const k = key("PRE_PREPARE", pp.msg.round, pp.msg.sender);
    let ok = this.judged.get(k);
    if (ok === undefined) {
      const verdict = this.cfg.isValid(pp.msg.value as Uint8Array, pp.msg.sender, pp.msg.round);
      ok = verdict === true;
      this.judged.set(k, ok);
      const reason = typeof verdict === "object" ? verdict.reason : "invalid proposed value";
      if (!ok) this.out.rejected.push({from: pp.msg.sender, type: "PRE_PREPARE", round: pp.msg.round, reason});
    }
    return ok;
  }

  private onPrepareQuorum(): boolean {
    const r = this.round;
    if (this.sent.has(key("COMMIT", r, this.cfg.self))) return false;
    const pp = this.messages.get(key("PRE_PREPARE", r, this.cfg.leader(r)));
    if (!pp?.msg.valueHash || !pp.msg.value) return false;
    const hash = pp.msg.valueHash;
    const prepares = this.ofType("PREPARE", r).filter((s) => s.msg.valueHash && bytesEqual(s.msg.valueHash, hash));
    if (prepares.length < this.quorum) return false;
    this.preparedRound = r;
    this.preparedValue = pp.msg.value;
    this.preparedJustification = prepares.map(stripJustification);
    this.send({type: "COMMIT", round: r, valueHash: hash, value: pp.msg.value, preparedRound: 0}, []);
    return true;
  }

  private onCommitQuorum(): boolean {
    if (this.decision) return false;
    const byValue = new Map<string, SignedQbft[]>();
    for (const c of this.ofType("COMMIT")) {
      const k = `${c.msg.round}/${toHex(c.msg.valueHash as Uint8Array)}`;
      byValue.set(k, [...(byValue.get(k) ?? []), c]);
    }
    for (const commits of byValue.values()) {
      const withValue = commits.find((c) => c.msg.value);
      if (commits.length >= this.quorum && withValue?.msg.value) {
        this.decide(withValue.msg.value, withValue.msg.round, commits);
        return true;
      }
    }
    return false;
  }

  private decide(value: Uint8Array, round: number, commits: SignedQbft[]): void {
    this.decision = {value, round};
    this.out.decided = this.decision;
    const msg: QbftMessage = {
      instance: this.cfg.instance,
      type: "DECIDED",
      round,
      sender: this.cfg.self,
      valueHash: this.cfg.crypto.hash(value),
      value,
      preparedRound: 0,
    };
    this.decidedProof = {msg, sig: this.cfg.crypto.sign(msg), justification: commits.map(stripJustification)};
    this.out.broadcast.push(this.decidedProof);
  }

  /** f+1 nodes are in later rounds: at least one honest node timed out there, so follow (Moniz, line 5 of Algorithm 3). */
  private onRoundChangeSkip(): boolean {
    const highestBySender = new Map<number, number>();
    for (const rc of this.ofType("ROUND_CHANGE")) {
      if (rc.msg.round > this.round)
        highestBySender.set(rc.msg.sender, Math.max(highestBySender.get(rc.msg.sender) ?? 0, rc.msg.round));
    }
    if (highestBySender.size < this.f + 1) return false;
    const target = [...highestBySender.values()].sort((a, b) => b - a)[this.f] as number;
    this.round = target;
    this.sendRoundChange();
    return true;
  }

  private onRoundChangeQuorum(): boolean {
    const r = this.round;
    if (r <= 1 || this.cfg.leader(r) !== this.cfg.self || this.sent.has(key("PRE_PREPARE", r, this.cfg.self)))
      return false;
    const rcs = this.ofType("ROUND_CHANGE", r);
    if (rcs.length < this.quorum) return false;
    const highest = highestPrepared(rcs.map((s) => s.msg));
    let value = this.input;
    const justification = rcs.map(stripJustification);
    if (highest) {
      const carrier = rcs.find(
        (s) =>
          s.msg.preparedRound === highest.round && s.msg.valueHash && bytesEqual(s.msg.valueHash, highest.valueHash),
      );
      if (!carrier?.msg.value) return false;
      value = carrier.msg.value;
      justification.push(...carrier.justification.map(stripJustification));
    }
    if (!value) return false;
    this.sendPrePrepare(r, value, justification);
    return true;
  }

  // ---- sending ------------------------------------------------------------------------------------------

  private sendPrePrepare(round: number, value: Uint8Array, justification: SignedQbft[]): void {
    this.send(
      {type: "PRE_PREPARE", round, valueHash: this.cfg.crypto.hash(value), value, preparedRound: 0},
      justification,
    );
  }

  private sendRoundChange(): void {
    if (this.sent.has(key("ROUND_CHANGE", this.round, this.cfg.self))) return;
    const prepared = this.preparedRound > 0 && this.preparedValue;
    this.send(
      {
        type: "ROUND_CHANGE",
        round: this.round,
        valueHash: prepared ? this.cfg.crypto.hash(this.preparedValue as Uint8Array) : null,
        value: prepared ? this.preparedValue : null,
        preparedRound: prepared ? this.preparedRound : 0,
      },
      prepared ? this.preparedJustification : [],
    );
  }

  private send(fields: Omit<QbftMessage, "instance" | "sender">, justification: SignedQbft[]): void {
    const msg: QbftMessage = {instance: this.cfg.instance, sender: this.cfg.self, ...fields};
    const signed: SignedQbft = {msg, sig: this.cfg.crypto.sign(msg), justification};
    this.sent.add(key(msg.type, msg.round, msg.sender));
    this.messages.set(key(msg.type, msg.round, msg.sender), signed);
    this.out.broadcast.push(signed);
  }
}

function highestPrepared(rcs: QbftMessage[]): {round: number; valueHash: Uint8Array} | null {
  let best: {round: number; valueHash: Uint8Array} | null = null;
  for (const m of rcs)
    if (m.preparedRound > 0 && m.valueHash && (!best || m.preparedRound > best.round))
      best = {round: m.preparedRound, valueHash: m.valueHash};
  return best;
}

/** Justifications embed messages without their own justifications: one level is all any rule needs. */
function stripJustification(s: SignedQbft): SignedQbft {
  return {msg: s.msg, sig: s.sig, justification: []};
}

function sameMessage(a: QbftMessage, b: QbftMessage): boolean {
  const h = (x: Uint8Array | null) => (x ? toHex(x) : "");
  return (
    a.type === b.type && a.round === b.round && a.preparedRound === b.preparedRound && h(a.valueHash) === h(b.valueHash)
  );
}
