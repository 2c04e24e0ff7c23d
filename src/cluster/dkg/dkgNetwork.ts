import type {PrivateKey, Stream} from "@libp2p/interface";
import {FrameDecoder, frame} from "../../hotpath/frames.js";
import {DhtRole, lockAddressToMultiaddr} from "../../roles/dht/dhtRole.js";
import {errorMessage} from "../../util/errors.js";
import type {Logger} from "../../util/logger.js";
import type {ClusterDefinition} from "../definitionSchema.js";
import {type Envelope, decodeEnvelope, encodeEnvelope} from "./wire.js";

/**
 * One stream per message: a ceremony sends a few dozen, so a long-lived channel would buy nothing. Version 2:
 * every message in an envelope with its sender's attempt (a release with version 1 is refused at negotiation).
 */
export const DKG_PROTOCOL = "/r3dv/dkg/2";
/**
 * A deal is V x t points of 48 bytes, base64 in JSON: 10,000 validators at threshold 10 is 6.4 MB. 32 MiB leaves
 * room for that and refuses a peer that streams without end.
 */
const MAX_DKG_FRAME = 32 * 1024 * 1024;
/** Long enough for a 6 MB deal on a slow link, short enough that a dead peer is retried within a round. */
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
 * direction, exactly as for `run`; noise encrypts every share) with a `/r3dv/dkg/1` protocol. A message's
 * `from` must be the operator whose connection it came on: the state machine trusts it.
 */
export class DkgNetwork {
  private readonly dht: DhtRole;

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

  /** Sends one message; throws if it could not be handed to the peer's stream. */
  async send(to: number, envelope: Envelope): Promise<void> {
    const peer = this.dht.byIndex(to);
    if (!peer) throw new Error(`operator ${to} is not in the definition`);
    const stream = await this.dht.libp2p.dialProtocol(peer.peerId, DKG_PROTOCOL, {
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    if (!stream.send(frame(encodeEnvelope(envelope))))
      await stream.onDrain({signal: AbortSignal.timeout(SEND_TIMEOUT_MS)});
    await stream.close({signal: AbortSignal.timeout(SEND_TIMEOUT_MS)});
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
          this.opts.onMessage(envelope);
        }
      }
    } catch (e) {
      this.opts.logger.warn("DKG message from a peer dropped", {peer: from, reason: errorMessage(e)});
      stream.abort(e instanceof Error ? e : new Error(String(e)));
    }
  }
}
