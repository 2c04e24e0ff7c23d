import {noise} from "@chainsafe/libp2p-noise";
import {yamux} from "@chainsafe/libp2p-yamux";
import {identify} from "@libp2p/identify";
import type {Libp2p, PrivateKey} from "@libp2p/interface";
import {peerIdFromString} from "@libp2p/peer-id";
import {tcp} from "@libp2p/tcp";
import {createLibp2p} from "libp2p";
import {join} from "node:path";
import {IDENTITY_FILE, loadIdentity} from "../../src/cluster/identity.js";
import type {ClusterLock} from "../../src/cluster/lockSchema.js";
import {fromHex} from "../../src/hotpath/bytes.js";
import {type Chunk, type ChunkKind, encodeChunk, signingBytes} from "../../src/hotpath/chunk.js";
import {lockAddressToMultiaddr} from "../../src/roles/dht/dhtRole.js";
import {PushChannel} from "../../src/roles/store/pushClient.js";
import {PUSH_PROTOCOL, decodePushAnswer, encodePushRequest} from "../../src/roles/store/pushWire.js";
import {FrameDecoder, frame} from "../../src/hotpath/frames.js";

/**
 * A cluster member driven by the test: a bare libp2p host with a member's identity (so the gater lets it in)
 * that pushes hand-made chunks (forged, old, floods) straight at one node's push protocol.
 */
export class Member {
  private constructor(
    readonly libp2p: Libp2p,
    readonly privateKey: PrivateKey,
    readonly index: number,
    private readonly lock: ClusterLock,
  ) {}

  static async start(lock: ClusterLock, nodeDir: string, index: number, privateKey?: PrivateKey): Promise<Member> {
    const key = privateKey ?? (await loadIdentity(join(nodeDir, IDENTITY_FILE))).privateKey;
    const libp2p = await createLibp2p({
      privateKey: key,
      addresses: {listen: ["/ip4/127.0.0.1/tcp/0"]},
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {denyDialMultiaddr: () => false},
      services: {identify: identify()},
    });
    return new Member(libp2p, key, index, lock);
  }

  async dial(operator: number): Promise<void> {
    const op = this.lock.operators[operator - 1];
    if (!op) throw new Error(`no operator ${operator}`);
    await this.libp2p.dial(lockAddressToMultiaddr(op.address, op.peer_id), {signal: AbortSignal.timeout(5000)});
  }

  channel(operator: number): PushChannel {
    const op = this.lock.operators[operator - 1];
    if (!op) throw new Error(`no operator ${operator}`);
    return new PushChannel(this.libp2p, peerIdFromString(op.peer_id));
  }

  /** A chunk signed by this member's key (or by `signer`, to forge one claiming `origin`). */
  async chunk(
    kind: ChunkKind,
    slot: number,
    seq: number,
    payload: Uint8Array,
    over: {origin?: number; signer?: PrivateKey} = {},
  ): Promise<Uint8Array> {
    const body: Omit<Chunk, "sig"> = {kind, slot, origin: over.origin ?? this.index, seq, t: Date.now(), payload};
    const sig = await (over.signer ?? this.privateKey).sign(signingBytes(body, fromHex(this.lock.lock_hash)));
    return encodeChunk({...body, sig});
  }

  /**
   * Pushes `chunks` at `ratePerSec` on one raw push stream, frames of each 10 ms tick in one write (what an
   * attacker would do: the cheapest flood per chunk), counting answers by status and limiter.
   */
  async flood(
    operator: number,
    chunks: Uint8Array[],
    ratePerSec: number,
    shouldStop: () => boolean,
    drainMs = 500,
  ): Promise<{sent: number; seconds: number; drainedSeconds: number; answers: Record<string, number>}> {
    const op = this.lock.operators[operator - 1];
    if (!op) throw new Error(`no operator ${operator}`);
    const stream = await this.libp2p.dialProtocol(peerIdFromString(op.peer_id), PUSH_PROTOCOL).catch((e: unknown) => {
      throw new Error(
        `cannot open a push stream to operator ${operator}: ${e instanceof Error ? e.message : String((e as {type?: string}).type ?? e)}`,
      );
    });
    const answers: Record<string, number> = {};
    const reading = (async () => {
      const decoder = new FrameDecoder(4096);
      for await (const buf of stream) {
        for (const f of decoder.push(buf)) {
          const {answer} = decodePushAnswer(f);
          const k = answer.limiter ? `${answer.status}:${answer.limiter}` : answer.status;
          answers[k] = (answers[k] ?? 0) + 1;
        }
      }
    })().catch(() => undefined);
    const t0 = Date.now();
    let sent = 0;
    while (!shouldStop() && sent < chunks.length) {
      const due = Math.min(chunks.length, Math.floor(((Date.now() - t0) / 1000) * ratePerSec));
      const batch: Uint8Array[] = [];
      for (; sent < due; sent++) batch.push(frame(encodePushRequest(sent + 1, chunks[sent] as Uint8Array)));
      if (stream.status !== "open") throw new Error(`flood stream to operator ${operator} is ${stream.status}`);
      if (batch.length > 0 && !stream.send(Buffer.concat(batch))) {
        await stream.onDrain().catch(() => {
          throw new Error(`flood stream to operator ${operator} closed`);
        });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const seconds = (Date.now() - t0) / 1000;
    // Wait for the answers still on their way (up to `drainMs`), then drop the stream: what the receiver's flow
    // control kept in this side's write buffer is never sent (a close would wait for it all to go).
    const answered = () => Object.values(answers).reduce((a, b) => a + b, 0);
    const until = Date.now() + drainMs;
    while (answered() < sent && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const drainedSeconds = (Date.now() - t0) / 1000;
    stream.abort(new Error("flood over"));
    await Promise.race([reading, new Promise((r) => setTimeout(r, 2000))]);
    return {sent, seconds, drainedSeconds, answers};
  }

  async stop(): Promise<void> {
    await this.libp2p.stop();
  }
}
