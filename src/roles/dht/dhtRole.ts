import {noise} from "@chainsafe/libp2p-noise";
import {yamux} from "@chainsafe/libp2p-yamux";
import {identify} from "@libp2p/identify";
import type {Connection, Libp2p, PeerId, PrivateKey, PublicKey, Stream} from "@libp2p/interface";
import {kadDHT, type KadDHT, passthroughMapper} from "@libp2p/kad-dht";
import {peerIdFromString} from "@libp2p/peer-id";
import {ping, type Ping} from "@libp2p/ping";
import {tcp} from "@libp2p/tcp";
import {type Multiaddr, multiaddr} from "@multiformats/multiaddr";
import {createLibp2p} from "libp2p";
import {CID} from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import {sha256} from "multiformats/hashes/sha2";
import {isIPv4, isIPv6} from "node:net";
import type {ClusterLock} from "../../cluster/lockSchema.js";
import type {Metrics} from "../../api/metrics.js";
import type {Logger} from "../../util/logger.js";
import {errorMessage} from "../../util/errors.js";
import {ed25519Verifier} from "../../hotpath/ed25519.js";
import {clusterGater} from "./gater.js";
import {CompactDatastore} from "./compactDatastore.js";
import {OperatorAddresses, hostOf} from "./operatorAddresses.js";

/**
 * Redial backoff: first retry after 250 ms (a restarting peer is back within a second), doubling to 5 s.
 * A cluster has a handful of peers, so a failed dial every 5 s costs nothing, while a longer cap would keep
 * a restarted peer out of consensus for up to that long.
 */
export const DIAL_BACKOFF_MIN_MS = 250;
export const DIAL_BACKOFF_MAX_MS = 5000;
/** After this many failed dials at the lock address, ask the DHT whether the peer moved. */
/**
 * A stream's receive window: what a peer may have in flight to us. The store pauses the push stream of a peer
 * over its byte budget (flow control), and while it is paused what was in flight piles up in the stream's read
 * buffer, which libp2p caps at 4 MiB by resetting the stream. yamux grows windows to 16 MiB; 2 MiB keeps a
 * paused stream under the cap and is still a second of a peer's byte budget per round trip.
 */
export const MAX_STREAM_WINDOW_BYTES = 2 * 1024 * 1024;
const DHT_LOOKUP_AFTER_FAILURES = 3;
/**
 * How long a provider record ("this node holds slot S") lives, and how often expired ones are dropped. Catch-up
 * looks back CATCHUP_MAX_SLOTS (100) slots, 20 minutes at 12 s slots: an hour covers it, and keeps at most an
 * hour of records in memory (kad-dht's default, 48 hours, kept every slot's records that long).
 */
const PROVIDER_RECORD_VALIDITY_MS = 60 * 60_000;
const PROVIDER_RECORD_CHECK_MS = 5 * 60_000;

/** Ping and time exchange every 2 s: a 12 s slot sees six samples per peer, and it costs ~100 bytes per peer per second. */
export const MEASURE_INTERVAL_MS = 2000;
/**
 * How long an inbound connection may take from accept to a muxed, encrypted connection. A noise XX handshake
 * and two multistream-select negotiations are about three round trips: under 1 s even at a 300 ms
 * intercontinental RTT, so 3 s leaves room for a busy event loop while a slot held by a silent socket is
 * freed three times sooner than with libp2p's 10 s default. Members do not depend on it (they bypass the
 * pending-connection limit) and a dial that times out is retried with backoff.
 */
export const INBOUND_UPGRADE_TIMEOUT_MS = 3000;
const TIME_PROTOCOL = "/r3dv/time/1";
const RAW_CODEC = 0x55;

export interface ClusterPeer {
  index: number;
  peerId: PeerId;
  /** Where the lock says the peer listens: always dialled, whatever the DHT says. */
  address: string;
  /** Another address the DHT reported for the peer, dialled beside the lock's until the peer connects. */
  dhtAddress?: string;
  publicKey: PublicKey;
  /** Signature check against this peer's identity, with the key parsed once. */
  verify: (data: Uint8Array, sig: Uint8Array) => boolean;
  connected: boolean;
  rttMs?: number;
  clockOffsetMs?: number;
  failures: number;
  nextDialAt: number;
  dialing: boolean;
}

export interface DhtRoleOptions {
  /** Who may connect, and the hash that names the cluster's DHT: a lock, or a definition during its DKG. */
  lock: Pick<ClusterLock, "operators" | "lock_hash">;
  self: number;
  privateKey: PrivateKey;
  listen: string;
  metrics?: Metrics;
  logger: Logger;
}

type Services = {ping: Ping; dht: KadDHT; identify: unknown};

export function lockAddressToMultiaddr(address: string, peerId?: string): Multiaddr {
  const host = hostOf(address);
  const port = address.slice(address.lastIndexOf(":") + 1);
  const proto = isIPv4(host) ? "ip4" : isIPv6(host) ? "ip6" : "dns4";
  return multiaddr(`/${proto}/${host}/tcp/${port}${peerId ? `/p2p/${peerId}` : ""}`);
}

/** The lock's address first, then what the DHT said, if anything: a lying member cannot take the lock's away. */
export function dialAddresses(p: Pick<ClusterPeer, "address" | "dhtAddress" | "peerId">): Multiaddr[] {
  const addresses = [p.address, ...(p.dhtAddress ? [p.dhtAddress] : [])];
  return addresses.map((a) => lockAddressToMultiaddr(a, p.peerId.toString()));
}

/** Provider-record key for the durable chunks of one slot: a CID over sha256("r3dv/slot/<lock hash>/<slot>"). */
export async function slotKey(lockHash: string, slot: number): Promise<CID> {
  const digest = await sha256.digest(new TextEncoder().encode(`r3dv/slot/${lockHash}/${slot}`));
  return CID.createV1(RAW_CODEC, Digest.create(sha256.code, digest.digest));
}

/**
 * The DHT role: a libp2p host that only talks to the lock's operators, keeps a connection to each of them
 * (dial, redial with backoff, look them up in the DHT when their address changes), measures round trip and
 * clock offset, and publishes provider records.
 */
export class DhtRole {
  libp2p!: Libp2p<Services>;
  readonly peers = new Map<string, ClusterPeer>();
  private timer: NodeJS.Timeout | null = null;
  private readonly operatorAddresses: OperatorAddresses;
  private measureTimer: NodeJS.Timeout | null = null;
  private readonly listeners: {connect: ((p: ClusterPeer) => void)[]; disconnect: ((p: ClusterPeer) => void)[]} = {
    connect: [],
    disconnect: [],
  };

  constructor(private readonly opts: DhtRoleOptions) {
    for (const op of opts.lock.operators) {
      if (op.index === opts.self) continue;
      const peerId = peerIdFromString(op.peer_id);
      if (!peerId.publicKey) throw new Error(`operator ${op.index}: peer id carries no public key`);
      this.peers.set(op.peer_id, {
        index: op.index,
        peerId,
        address: op.address,
        publicKey: peerId.publicKey,
        verify: ed25519Verifier(peerId.publicKey.raw),
        connected: false,
        failures: 0,
        nextDialAt: 0,
        dialing: false,
      });
    }
    this.operatorAddresses = new OperatorAddresses(
      [...this.peers.values()].map((p) => hostOf(p.address)),
      (hosts, error) =>
        opts.logger.warn(
          "operator address does not resolve: connections from any address reach the handshake until it does",
          {hosts},
          error,
        ),
    );
  }

  onPeer(event: "connect" | "disconnect", cb: (p: ClusterPeer) => void): void {
    this.listeners[event].push(cb);
  }

  async start(): Promise<void> {
    const {lock, metrics, logger} = this.opts;
    const members = new Set(lock.operators.map((o) => o.peer_id));
    await this.operatorAddresses.start();
    this.libp2p = await createLibp2p<Services>({
      privateKey: this.opts.privateKey,
      datastore: new CompactDatastore(),
      addresses: {listen: [this.opts.listen]},
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux({streamOptions: {maxStreamWindowSize: MAX_STREAM_WINDOW_BYTES}})],
      connectionManager: {
        // Members skip the pending-handshake limit and the per-host rate limit, so strangers can never use up
        // the slots a member needs. Addresses as resolved at start; the gater follows later DNS changes.
        allow: this.operatorAddresses.known().map((ip) => `/${isIPv4(ip) ? "ip4" : "ip6"}/${ip}`),
        inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
      },
      connectionGater: clusterGater(
        members,
        (ip) => this.operatorAddresses.mayConnect(ip),
        (who, direction, stage) => {
          metrics?.connectionsRefused.inc({direction, stage});
          // A stranger refused by address can open sockets by the thousand: those log at debug only.
          if (stage === "address")
            logger.debug("refused a connection from an address that is no operator's", {address: who});
          else logger.warn("refused a connection from a peer outside the cluster lock", {peer: who, direction});
        },
      ),
      services: {
        identify: identify(),
        ping: ping(),
        // The protocol carries the lock hash: two clusters on one network never share a routing table.
        // passthroughMapper: kad-dht's default drops private and loopback addresses, which is where cluster
        // nodes usually are; the gater already limits the table to the lock's operators.
        dht: kadDHT({
          protocol: `/r3dv/${lock.lock_hash.slice(2, 18)}/kad/1.0.0`,
          clientMode: false,
          peerInfoMapper: passthroughMapper,
          // Records name slots that catch-up asks for only while recent: peers' expire and are dropped, and
          // this node cancels its own (cancelProvide) before they expire, or they would be provided again.
          reprovide: {validity: PROVIDER_RECORD_VALIDITY_MS, interval: PROVIDER_RECORD_CHECK_MS, threshold: 0},
        }),
      },
    });
    this.libp2p.addEventListener("peer:connect", (evt) => this.setConnected(evt.detail.toString(), true));
    this.libp2p.addEventListener("peer:disconnect", (evt) => this.setConnected(evt.detail.toString(), false));
    await this.libp2p.handle(TIME_PROTOCOL, (stream) => this.serveTime(stream));
    this.timer = setInterval(() => this.dialDue(), 100);
    this.measureTimer = setInterval(() => void this.measureAll(), MEASURE_INTERVAL_MS);
    this.dialDue();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.measureTimer) clearInterval(this.measureTimer);
    this.operatorAddresses.stop();
    await this.libp2p?.stop();
  }

  listenAddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((m) => m.toString());
  }

  byPeerId(peerId: string): ClusterPeer | undefined {
    return this.peers.get(peerId);
  }

  byIndex(index: number): ClusterPeer | undefined {
    for (const p of this.peers.values()) if (p.index === index) return p;
    return undefined;
  }

  connected(): ClusterPeer[] {
    return [...this.peers.values()].filter((p) => p.connected);
  }

  private setConnected(peerId: string, connected: boolean): void {
    const p = this.peers.get(peerId);
    if (!p || p.connected === connected) return;
    p.connected = connected;
    if (connected) {
      p.failures = 0;
      p.dhtAddress = undefined;
      void this.measure(p);
    } else {
      p.nextDialAt = Date.now() + DIAL_BACKOFF_MIN_MS;
    }
    this.opts.metrics?.peersConnected.set(this.connected().length);
    this.opts.logger.info(connected ? "peer connected" : "peer disconnected", {peer: p.index});
    for (const cb of this.listeners[connected ? "connect" : "disconnect"]) cb(p);
  }

  private dialDue(): void {
    const now = Date.now();
    for (const p of this.peers.values()) {
      if (p.connected || p.dialing || p.nextDialAt > now) continue;
      void this.dial(p);
    }
  }

  private async dial(p: ClusterPeer): Promise<void> {
    p.dialing = true;
    try {
      if (p.failures >= DHT_LOOKUP_AFTER_FAILURES && this.connected().length > 0) await this.lookUp(p);
      await this.libp2p.dial(dialAddresses(p), {signal: AbortSignal.timeout(5000)});
      this.opts.metrics?.dials.inc({result: "ok"});
    } catch (e) {
      p.failures++;
      const backoff = Math.min(DIAL_BACKOFF_MAX_MS, DIAL_BACKOFF_MIN_MS * 2 ** Math.min(p.failures, 10));
      p.nextDialAt = Date.now() + backoff;
      this.opts.metrics?.dials.inc({result: "error"});
      this.opts.logger.debug("dial failed", {
        peer: p.index,
        failures: p.failures,
        retryInMs: backoff,
        reason: errorMessage(e),
      });
    } finally {
      p.dialing = false;
    }
  }

  /**
   * Finds a peer's current address through the DHT (another member may know where it moved). The answer
   * comes from other members, one of whom may lie: it is dialled beside the lock's address, never instead.
   */
  private async lookUp(p: ClusterPeer): Promise<void> {
    try {
      const info = await this.libp2p.peerRouting.findPeer(p.peerId, {signal: AbortSignal.timeout(3000)});
      this.opts.metrics?.dhtOps.inc({op: "find_peer", result: "ok"});
      for (const m of info.multiaddrs) {
        const c = m.getComponents();
        const host = c.find((x) => x.name === "ip4" || x.name === "dns4")?.value;
        const port = c.find((x) => x.name === "tcp")?.value;
        if (host && port && `${host}:${port}` !== p.address) {
          p.dhtAddress = `${host}:${port}`;
          break;
        }
      }
    } catch {
      this.opts.metrics?.dhtOps.inc({op: "find_peer", result: "error"});
    }
  }

  private async measureAll(): Promise<void> {
    await Promise.allSettled(this.connected().map((p) => this.measure(p)));
  }

  private async measure(p: ClusterPeer): Promise<void> {
    const label = {peer: String(p.index)};
    try {
      p.rttMs = await this.libp2p.services.ping.ping(p.peerId, {signal: AbortSignal.timeout(MEASURE_INTERVAL_MS)});
      this.opts.metrics?.peerRtt.set(label, p.rttMs / 1000);
      p.clockOffsetMs = await this.clockOffset(p.peerId);
      this.opts.metrics?.peerClockOffset.set(label, p.clockOffsetMs / 1000);
    } catch (e) {
      this.opts.logger.debug("peer measurement failed", {peer: p.index, reason: errorMessage(e)});
    }
  }

  /** NTP's estimate: the peer's clock read half way through the round trip. Error is at most half the RTT. */
  private async clockOffset(peer: PeerId): Promise<number> {
    const stream = await this.libp2p.dialProtocol(peer, TIME_PROTOCOL, {
      signal: AbortSignal.timeout(MEASURE_INTERVAL_MS),
    });
    const t0 = Date.now();
    stream.send(new Uint8Array([1]));
    let remote: number | undefined;
    for await (const buf of stream) {
      const b = Buffer.from(buf.subarray());
      if (b.length >= 8) remote = b.readDoubleBE(0);
      break;
    }
    const t1 = Date.now();
    await stream.close().catch(() => undefined);
    if (remote === undefined) throw new Error("time exchange: no answer");
    return remote - (t0 + t1) / 2;
  }

  private async serveTime(stream: Stream): Promise<void> {
    try {
      for await (const _ of stream) {
        const b = Buffer.allocUnsafe(8);
        b.writeDoubleBE(Date.now());
        stream.send(b);
        break;
      }
      await stream.close();
    } catch {
      stream.abort(new Error("time exchange failed"));
    }
  }

  async provide(lockHash: string, slot: number): Promise<void> {
    try {
      await this.libp2p.contentRouting.provide(await slotKey(lockHash, slot), {signal: AbortSignal.timeout(10_000)});
      this.opts.metrics?.dhtOps.inc({op: "provide", result: "ok"});
    } catch (e) {
      this.opts.metrics?.dhtOps.inc({op: "provide", result: "error"});
      this.opts.logger.debug("provide failed", {slot, reason: errorMessage(e)});
    }
  }

  /** Stops announcing `slot` (ProviderRecords, once the slot is past catch-up): its record is deleted here. */
  async cancelProvide(lockHash: string, slot: number): Promise<void> {
    try {
      await this.libp2p.contentRouting.cancelReprovide(await slotKey(lockHash, slot));
    } catch (e) {
      this.opts.logger.debug("cancelling a provider record failed", {slot, reason: errorMessage(e)});
    }
  }

  /** Peers in the DHT routing table. `routingTable` is on kad-dht 16's implementation, not on its public type. */
  routingTableSize(): number {
    return (this.libp2p.services.dht as unknown as {routingTable: {size: number}}).routingTable.size;
  }

  /** Cluster peers that announced holding durable chunks of `slot`. */
  async findProviders(lockHash: string, slot: number, timeoutMs: number): Promise<ClusterPeer[]> {
    const found = new Map<string, ClusterPeer>();
    try {
      for await (const prov of this.libp2p.contentRouting.findProviders(await slotKey(lockHash, slot), {
        signal: AbortSignal.timeout(timeoutMs),
      })) {
        const p = this.peers.get(prov.id.toString());
        if (p) found.set(prov.id.toString(), p);
        if (found.size >= this.peers.size) break;
      }
      this.opts.metrics?.dhtOps.inc({op: "find_providers", result: "ok"});
    } catch {
      this.opts.metrics?.dhtOps.inc({op: "find_providers", result: found.size > 0 ? "partial" : "error"});
    }
    return [...found.values()];
  }

  connectionTo(p: ClusterPeer): Connection | undefined {
    return this.libp2p.getConnections(p.peerId)[0];
  }
}
