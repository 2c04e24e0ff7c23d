import {createHash} from "node:crypto";
import type {PrivateKey, Stream} from "@libp2p/interface";
import {FrameDecoder, frame} from "../../hotpath/frames.js";
import {DhtRole, lockAddressToMultiaddr} from "../../roles/dht/dhtRole.js";
import {errorMessage} from "../../util/errors.js";
import type {Logger} from "../../util/logger.js";
import type {ClusterDefinition} from "../definitionSchema.js";
import {type Envelope, decodeEnvelope, encodeEnvelope} from "./wire.js";

/**
 * One stream per message: a ceremony sends a few dozen, so a long-lived channel would buy nothing. Version 2:
 * every message in an envelope with its sender's attempt. Version 3: the receiver acknowledges each message
 * once it has taken it (an older release is refused at negotiation, not waited on for an acknowledgement).
 */
export const DKG_PROTOCOL = "/r3dv/dkg/3";
/** The receiver's answer to a message it has taken: one byte, so the sender knows it arrived. */
const ACK = 0x06;
/**
 * A deal is V x t points of 48 bytes, base64 in JSON: 10,000 validators at threshold 10 is 6.4 MB. 32 MiB leaves
 * room for that and refuses a peer that streams without end.
 */
const MAX_DKG_FRAME = 32 * 1024 * 1024;
/**
 * Long enough for a 6 MB deal on a slow link and its acknowledgement (sent once the receiver has checked the deal),
 * short enough that a dead peer is retried within a round; a copy sent again after a late acknowledgement is
 * acknowledged at once.
 */
const SEND_TIMEOUT_MS = 10_000;

export interface DkgNetworkOptions {
  definition: ClusterDefinition;
  self: number;
  privateKey: PrivateKey;
  /** Multiaddr to listen on; default this operator's definition address. */
  listen?: string;
  logger: Logger;
  onMessage: (envelope: Envelope) => void;
}

/**
 * The DKG's transport: the DHT role's libp2p host (only the definition's operators may connect, in either
 * direction, exactly as for `run`; noise encrypts every share) with its own protocol (DKG_PROTOCOL). A message's
 * `from` must be the operator whose connection it came on: the state machine trusts it.
 */
export class DkgNetwork {
  private readonly dht: DhtRole;
  /** Per peer, the digests of the messages delivered: a retry whose acknowledgement was lost is not delivered twice. */
  private readonly delivered = new Map<number, Set<string>>();

  constructor(private readonly opts: DkgNetworkOptions) {
    const {definition, self, privateKey, logger} = opts;
    const me = definition.operators[self - 1];
    const listen = opts.listen ?? lockAddressToMultiaddr(me?.address ?? "127.0.0.1:0").toString();
    const lock = {operators: definition.operators, lock_hash: definition.definition_hash};
    this.dht = new DhtRole({lock, self, privateKey, listen, logger: logger.child({role: "dht"})});
  }

  async start(): Promise<void> {
    await this.dht.start();
    await this.dht.libp2p.handle(DKG_PROTOCOL, (stream, conn) => {
      const peer = this.dht.byPeerId(conn.remotePeer.toString());
      if (!peer) return stream.abort(new Error("not an operator of this definition"));
      void this.read(stream, peer.index);
    });
  }

  async stop(): Promise<void> {
    await this.dht.stop();
  }

  /** Operators (1-based, this one excluded) with an open connection now. */
  connected(): number[] {
    return this.dht
      .connected()
      .map((p) => p.index)
      .sort((a, b) => a - b);
  }

  /**
   * Sends one message and resolves once the peer acknowledged it; throws otherwise (the caller retries).
   * A closed stream only means the bytes were handed to the transport: a participant that stops its host right
   * after its last message (a leaving dealer, an operator done with the lock) could lose it in the connection's
   * close, which libp2p aborts after 500 ms, and the peer would wait out a whole round for it.
   */
  async send(to: number, envelope: Envelope): Promise<void> {
    const peer = this.dht.byIndex(to);
    if (!peer) throw new Error(`operator ${to} is not in the definition`);
    const signal = AbortSignal.timeout(SEND_TIMEOUT_MS);
    const stream = await this.dht.libp2p.dialProtocol(peer.peerId, DKG_PROTOCOL, {signal});
    const onTimeout = () => stream.abort(new Error(`operator ${to} did not acknowledge within ${SEND_TIMEOUT_MS} ms`));
    signal.addEventListener("abort", onTimeout, {once: true});
    try {
      if (!stream.send(frame(encodeEnvelope(envelope)))) await stream.onDrain({signal});
      await stream.close({signal});
      for await (const chunk of stream) if (chunk.subarray().includes(ACK)) return;
      throw new Error(`operator ${to} closed the stream without acknowledging the message`);
    } finally {
      signal.removeEventListener("abort", onTimeout);
    }
  }

  private async read(stream: Stream, from: number): Promise<void> {
    const decoder = new FrameDecoder(MAX_DKG_FRAME);
    try {
      for await (const chunk of stream) {
        for (const f of decoder.push(chunk)) {
          const envelope = decodeEnvelope(f);
          if (envelope.message.from !== from) {
            const claimed = envelope.message.from;
            this.opts.logger.warn("DKG message claims another sender; dropped", {peer: from, claimed});
            continue;
          }
          if (this.firstDelivery(from, f)) this.opts.onMessage(envelope);
          stream.send(new Uint8Array([ACK]));
        }
      }
      await stream.close();
    } catch (e) {
      this.opts.logger.warn("DKG message from a peer dropped", {peer: from, reason: errorMessage(e)});
      stream.abort(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** True the first time these bytes come from `from`; a ceremony sends a few dozen messages, so the set stays small. */
  private firstDelivery(from: number, bytes: Uint8Array): boolean {
    const digest = createHash("sha256").update(bytes).digest("hex");
    let seen = this.delivered.get(from);
    if (seen === undefined) this.delivered.set(from, (seen = new Set()));
    if (seen.has(digest)) return false;
    seen.add(digest);
    return true;
  }
}
