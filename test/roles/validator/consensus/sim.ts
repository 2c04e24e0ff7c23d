import {createHash, createHmac} from "node:crypto";
import {encodeQbftMessage} from "../../../../src/roles/validator/consensus/encoding.js";
import {skipUnreachableLeaders} from "../../../../src/roles/validator/consensus/driver.js";
import {QbftInstance} from "../../../../src/roles/validator/consensus/instance.js";
import type {QbftCrypto, QbftMessage, SignedQbft} from "../../../../src/roles/validator/consensus/types.js";

/**
 * A deterministic discrete-event network for QBFT instances: no sockets, no wall clock, a seeded PRNG for
 * delays and drops. This is a unit test of the consensus layer above the network (the real push network is
 * tested with real processes elsewhere); HMAC stands in for the nodes' identity signatures.
 */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const nodeKey = (i: number) => Buffer.from(`node-key-${i}`);

export function fakeCrypto(self: number): QbftCrypto {
  return {
    sign: (msg) => new Uint8Array(createHmac("sha256", nodeKey(self)).update(encodeQbftMessage(msg)).digest()),
    verify: (msg, sig) =>
      Buffer.from(sig).equals(createHmac("sha256", nodeKey(msg.sender)).update(encodeQbftMessage(msg)).digest()),
    hash: (v) => new Uint8Array(createHash("sha256").update(v).digest()),
  };
}

/** Round r ends at base*r + inc*r(r-1)/2 ms: linearly growing rounds, as the runtime configures them. */
export function deadlines(base: number, inc: number, start = 0): (r: number) => number {
  return (r) => start + base * r + (inc * r * (r - 1)) / 2;
}

export interface SimOptions {
  n: number;
  seed: number;
  inputs: (i: number) => Uint8Array;
  /** Nodes that never start (crashed). */
  crashed?: number[];
  /** Whether the others see the crashed nodes' connections gone (and skip the rounds they lead). */
  crashSeen?: boolean;
  /** Start time per node (default 0). */
  startAt?: (i: number) => number;
  /** Message delay in ms. */
  delay?: (rand: () => number, from: number, to: number, msg: QbftMessage) => number;
  /** Drop a message? */
  drop?: (rand: () => number, from: number, to: number, msg: QbftMessage, now: number) => boolean;
  /** Replace what a node sends to one peer (byzantine behaviour). */
  tamper?: (from: number, to: number, s: SignedQbft) => SignedQbft | null;
  leader?: (round: number) => number;
  isValid?: (node: number, value: Uint8Array) => boolean;
  base?: number;
  inc?: number;
  until?: number;
}

export interface SimResult {
  decisions: Map<number, {value: string; round: number; at: number}>;
  rejected: {node: number; reason: string}[];
  nodes: Map<number, QbftInstance>;
}

type Event = {at: number; seq: number; kind: "start" | "tick" | "deliver"; node: number; msg?: SignedQbft};

export function simulate(o: SimOptions): SimResult {
  const rand = prng(o.seed);
  const leader = o.leader ?? ((r: number) => (r % o.n) + 1);
  const roundDeadline = deadlines(o.base ?? 100, o.inc ?? 50);
  const nodes = new Map<number, QbftInstance>();
  const decisions: SimResult["decisions"] = new Map();
  const rejected: SimResult["rejected"] = [];
  const queue: Event[] = [];
  let seq = 0;
  const push = (e: Omit<Event, "seq">) => {
    queue.push({...e, seq: seq++});
  };
  for (let i = 1; i <= o.n; i++) {
    if (o.crashed?.includes(i)) continue;
    nodes.set(
      i,
      new QbftInstance({
        instance: "attester/7",
        n: o.n,
        self: i,
        leader,
        roundDeadline: o.crashSeen
          ? skipUnreachableLeaders({leader, roundDeadline}, {n: o.n, self: i}, (p) => !o.crashed?.includes(p))
          : roundDeadline,
        isValid: (v) => v.length > 0 && (o.isValid?.(i, v) ?? true),
        crypto: fakeCrypto(i),
      }),
    );
    push({at: o.startAt?.(i) ?? 0, kind: "start", node: i});
  }
  const handle = (node: number, now: number, out: ReturnType<QbftInstance["tick"]>) => {
    for (const r of out.rejected) rejected.push({node, reason: r.reason});
    if (out.decided && !decisions.has(node))
      decisions.set(node, {value: Buffer.from(out.decided.value).toString(), round: out.decided.round, at: now});
    for (const s of out.broadcast) {
      for (const to of nodes.keys()) {
        if (to === node) continue;
        const m = o.tamper ? o.tamper(node, to, s) : s;
        if (!m || o.drop?.(rand, node, to, s.msg, now)) continue;
        push({at: now + (o.delay?.(rand, node, to, s.msg) ?? 1), kind: "deliver", node: to, msg: m});
      }
    }
    const next = nodes.get(node)?.nextDeadline();
    if (next !== undefined && scheduled.get(node) !== next) {
      scheduled.set(node, next);
      push({at: Math.max(next, now), kind: "tick", node});
    }
  };
  const scheduled = new Map<number, number>();
  const until = o.until ?? 60_000;
  while (queue.length > 0) {
    queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const e = queue.shift() as Event;
    if (e.at > until) break;
    const inst = nodes.get(e.node) as QbftInstance;
    if (e.kind === "start") handle(e.node, e.at, inst.start(o.inputs(e.node), e.at));
    else if (e.kind === "tick") handle(e.node, e.at, inst.tick(e.at));
    else handle(e.node, e.at, inst.receive(e.msg as SignedQbft, e.at));
    if (decisions.size === nodes.size && queue.every((q) => q.kind === "tick")) break;
  }
  return {decisions, rejected, nodes};
}

export const text = (s: string) => new Uint8Array(Buffer.from(s));
