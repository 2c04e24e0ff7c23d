import {errorMessage} from "../../../util/errors.js";
import type {Logger} from "../../../util/logger.js";
import type {ClusterTransport} from "../clusterTransport.js";
import {decodeSignedQbft, encodeSignedQbft} from "./codec.js";
import {QbftInstance} from "./instance.js";
import type {QbftConfig, QbftOutput} from "./types.js";

/** Instance parameters for an instance id, or undefined to refuse messages for it (unknown duty, slot far from now). */
export type InstanceFactory = (
  instance: string,
) => (Omit<QbftConfig, "crypto" | "n" | "self" | "instance"> & {slot: number}) | undefined;

interface Running {
  inst: QbftInstance;
  slot: number;
  timer: NodeJS.Timeout | null;
  decided: Promise<{value: Uint8Array; round: number}>;
  /** Operators that sent anything for this instance (this node once it starts): the no-quorum diagnosis. */
  heard: Set<number>;
  resolve: (d: {value: Uint8Array; round: number}) => void;
}

export interface QbftEvents {
  onDecided?(instance: string, round: number, ms: number): void;
  onRejected?(instance: string, from: number, reason: string): void;
  onRoundChange?(instance: string, round: number): void;
}

/**
 * Runs QBFT instances over the cluster transport: routes `qbft` chunks to instances (creating them when a
 * peer is ahead of us, so its messages wait for our start), arms one timer per instance at its next
 * absolute round deadline, and pushes every output message to all peers.
 */
export class QbftDriver {
  private readonly running = new Map<string, Running>();
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(
    private readonly transport: ClusterTransport,
    private readonly base: Pick<QbftConfig, "crypto" | "n" | "self">,
    private readonly factory: InstanceFactory,
    private readonly logger?: Logger,
    private readonly events: QbftEvents = {},
  ) {
    this.unsubscribe = transport.subscribe("qbft", (origin, _slot, payload) => this.onChunk(origin, payload));
  }

  /** Starts (or joins) an instance with this node's input; resolves with the decision. */
  run(instance: string, input: Uint8Array): Promise<{value: Uint8Array; round: number}> {
    if (this.stopped) return Promise.reject(new Error(`QBFT instance ${instance} not started: the node is stopping`));
    const r = this.get(instance);
    if (!r) return Promise.reject(new Error(`QBFT instance ${instance} is not acceptable now`));
    const started = Date.now();
    r.heard.add(this.base.self);
    this.apply(instance, r, r.inst.start(input, Date.now()));
    return r.decided.then((d) => {
      this.events.onDecided?.(instance, d.round, Date.now() - started);
      return d;
    });
  }

  /** Operators heard from in an instance, ascending; empty for an instance this node never saw. */
  heardFrom(instance: string): number[] {
    return [...(this.running.get(instance)?.heard ?? [])].sort((a, b) => a - b);
  }

  /** Forgets instances of slots before `slot`: their duties are over. */
  prune(beforeSlot: number): void {
    for (const [id, r] of this.running) {
      if (r.slot < beforeSlot) {
        if (r.timer) clearTimeout(r.timer);
        this.running.delete(id);
      }
    }
  }

  /**
   * Ends every instance and refuses new ones. A duty already past its beacon fetch when the node stops would
   * otherwise start an instance after this, and its round timers (nothing prunes them once stopped) kept a
   * stopped process alive until the stop deadline killed it.
   */
  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    this.prune(Number.POSITIVE_INFINITY);
  }

  private get(instance: string): Running | undefined {
    let r = this.running.get(instance);
    if (r) return r;
    const cfg = this.factory(instance);
    if (!cfg) return undefined;
    let resolve!: Running["resolve"];
    const decided = new Promise<{value: Uint8Array; round: number}>((res) => (resolve = res));
    const roundDeadline = skipUnreachableLeaders(cfg, this.base, (peer) => this.transport.isConnected?.(peer) ?? true);
    r = {
      inst: new QbftInstance({...cfg, roundDeadline, ...this.base, instance}),
      slot: cfg.slot,
      timer: null,
      decided,
      heard: new Set(),
      resolve,
    };
    this.running.set(instance, r);
    return r;
  }

  private onChunk(origin: number, payload: Uint8Array): void {
    let signed;
    try {
      signed = decodeSignedQbft(payload);
    } catch (e) {
      this.events.onRejected?.("?", origin, errorMessage(e));
      return;
    }
    // The chunk's origin is authenticated by the store role; a node may only speak for itself.
    if (signed.msg.sender !== origin && signed.msg.type !== "DECIDED") {
      this.events.onRejected?.(
        signed.msg.instance,
        origin,
        `sender ${signed.msg.sender} differs from chunk origin ${origin}`,
      );
      return;
    }
    const r = this.get(signed.msg.instance);
    if (!r) {
      this.events.onRejected?.(signed.msg.instance, origin, "instance not acceptable now");
      return;
    }
    r.heard.add(origin);
    this.apply(signed.msg.instance, r, r.inst.receive(signed, Date.now()));
  }

  private apply(instance: string, r: Running, out: QbftOutput): void {
    for (const rej of out.rejected) this.events.onRejected?.(instance, rej.from, rej.reason);
    for (const m of out.broadcast) {
      if (m.msg.type === "ROUND_CHANGE" && m.msg.sender === this.base.self)
        this.events.onRoundChange?.(instance, m.msg.round);
      this.transport.publish("qbft", r.slot, encodeSignedQbft(m));
    }
    if (out.decided) r.resolve(out.decided);
    this.arm(instance, r);
  }

  private arm(instance: string, r: Running): void {
    const next = r.inst.nextDeadline();
    if (r.timer) clearTimeout(r.timer);
    r.timer = null;
    if (next === undefined || this.stopped) return;
    r.timer = setTimeout(
      () => {
        try {
          this.apply(instance, r, r.inst.tick(Date.now()));
        } catch (e) {
          this.logger?.error("QBFT timer failed", {instance}, e);
        }
      },
      Math.max(0, next - Date.now()),
    );
  }
}

/**
 * Round deadlines where a round whose leader this node has no connection to ends when the round before it ends
 * (round 1: when rounds start): waiting out a crashed or restarting leader's round, the commonest fault, made
 * a slot's block late by a whole round, after the attesters had voted. Asked again at every timer, so a leader
 * lost mid-round is skipped at the next message or timer. Liveness only: QBFT's safety never depends on timing,
 * and a node that skips a round its peers still run only sends its ROUND-CHANGE early. At most n - 1 rounds in
 * a row are skipped (the leader rotates through every operator, this node included).
 */
export function skipUnreachableLeaders(
  cfg: Pick<QbftConfig, "leader" | "roundDeadline">,
  base: Pick<QbftConfig, "n" | "self">,
  isConnected: (peer: number) => boolean,
): (round: number) => number {
  const unreachable = (round: number) => {
    const leader = cfg.leader(round);
    return leader !== base.self && !isConnected(leader);
  };
  return (round) => {
    let live = round;
    while (live >= 1 && round - live < base.n - 1 && unreachable(live)) live--;
    return live === round ? cfg.roundDeadline(round) : Math.min(cfg.roundDeadline(live), cfg.roundDeadline(round));
  };
}
