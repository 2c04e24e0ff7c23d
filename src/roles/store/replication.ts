import {toHex} from "../../hotpath/bytes.js";
import {type ChunkKind, DURABLE_KINDS, chunkId, encodeChunk, signingBytes} from "../../hotpath/chunk.js";
import {errorMessage} from "../../util/errors.js";
import type {ClusterPeer} from "../dht/dhtRole.js";
import type {StoreComponents} from "./components.js";
import {PushChannel} from "./pushClient.js";

/** Unreplicated durable chunks remembered for a retry when a peer comes back. */
const MAX_UNREPLICATED = 10_000;

export interface PublishResult {
  id: string;
  seq: number;
  slot: number;
  /** Per peer: its answer and the push round trip in ms. */
  answers: {peer: number; status: string; limiter?: string; reason?: string; error?: string; ms?: number}[];
  replicated: boolean;
}

export interface ReplicationInit {
  /** Peers that must accept a durable chunk before it counts as replicated. */
  replication: number;
}

/**
 * This node's own chunks out to its peers: signed, recorded, pushed to every connected peer over one long-lived
 * push channel each. A durable chunk some peer did not take is pushed to that peer again when it reconnects.
 */
export class Replication {
  private readonly channels = new Map<number, PushChannel>();
  private readonly unreplicated = new Map<string, {encoded: Uint8Array; missing: Set<number>}>();
  private ownSeq = 0;

  constructor(
    private readonly c: StoreComponents,
    private readonly init: ReplicationInit,
  ) {}

  /** Chunks this peer missed while it was away: push them again, now that it is back. */
  peerConnected(p: ClusterPeer): void {
    for (const [id, u] of this.unreplicated) {
      if (!u.missing.has(p.index)) continue;
      this.channel(p)
        .push(u.encoded)
        .then(
          (a) => {
            if (a.status !== "refused") u.missing.delete(p.index);
            if (u.missing.size === 0) this.unreplicated.delete(id);
          },
          () => undefined,
        );
    }
  }

  peerDisconnected(p: ClusterPeer): void {
    this.channels.get(p.index)?.close();
    this.channels.delete(p.index);
  }

  stop(): void {
    for (const ch of this.channels.values()) ch.close();
  }

  /** Signs a chunk with this node's identity, records it, and pushes it to every connected peer. */
  async publish(kind: ChunkKind, payload: Uint8Array, slot?: number): Promise<PublishResult> {
    const {series, metrics} = this.c;
    this.ownSeq = Math.max(this.ownSeq, series.views.ownSeq) + 1;
    const body = {
      kind,
      slot: slot ?? this.c.currentSlot() ?? 0,
      origin: this.c.self,
      seq: this.ownSeq,
      t: Date.now(),
      payload,
    };
    const sig = await this.c.privateKey.sign(signingBytes(body, this.c.lockHash));
    const encoded = encodeChunk({...body, sig});
    const durable = DURABLE_KINDS.has(kind);
    await series.appendChunk("chunk_sent", 0, encoded, durable ? "committed" : "batched");
    if (durable) this.c.providers.announce(body.slot);
    const peers = [...this.c.dht.peers.values()];
    const answers = await Promise.all(
      peers.map(async (p) => {
        if (!p.connected) return {peer: p.index, status: "not_connected"};
        const t0 = performance.now();
        try {
          const a = await this.channel(p).push(encoded);
          const ms = performance.now() - t0;
          metrics?.pushRtt.observe(ms / 1000);
          metrics?.chunksPushed.inc({kind, result: a.status});
          return {peer: p.index, ...a, ms};
        } catch (e) {
          metrics?.chunksPushed.inc({kind, result: "error"});
          return {peer: p.index, status: "error", error: errorMessage(e)};
        }
      }),
    );
    const ok = answers.filter((a) => a.status === "accepted" || a.status === "duplicate").length;
    const id = toHex(chunkId(encoded));
    if (durable && ok < peers.length) {
      if (this.unreplicated.size >= MAX_UNREPLICATED)
        this.unreplicated.delete(this.unreplicated.keys().next().value as string);
      this.unreplicated.set(id, {
        encoded,
        missing: new Set(answers.filter((a) => a.status !== "accepted" && a.status !== "duplicate").map((a) => a.peer)),
      });
    }
    return {
      id,
      seq: body.seq,
      slot: body.slot,
      answers,
      replicated: ok >= Math.min(this.init.replication, peers.length),
    };
  }

  private channel(p: ClusterPeer): PushChannel {
    let ch = this.channels.get(p.index);
    if (!ch) {
      ch = new PushChannel(this.c.dht.libp2p, p.peerId);
      this.channels.set(p.index, ch);
    }
    return ch;
  }
}
