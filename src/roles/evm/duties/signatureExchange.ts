import {toHex} from "../../../hotpath/bytes.js";
import {sign} from "../../../hotpath/threshold.js";
import type {BlsPool} from "../../../workers/blsPool.js";
import {PartialSigCollector, decodePartialSigs, encodePartialSigs} from "./partialSigs.js";
import type {ShareKey} from "./shareKeys.js";
import type {ClusterTransport} from "./transport.js";

interface Waiter {
  message: Uint8Array;
  share: ShareKey;
  resolve: (sig: Uint8Array) => void;
  recovering: boolean;
  done: boolean;
}

/**
 * Threshold signing of agreed messages: sign with this node's share, push the partial to every peer as a
 * `partial_sig` chunk, and resolve once any `threshold` partials recover a signature the validator key
 * verifies (recovery and the check run in the worker pool; a bad partial is skipped and named there).
 */
export class SignatureExchange {
  private readonly collector = new PartialSigCollector();
  private readonly waiters = new Map<string, Waiter>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly transport: ClusterTransport,
    private readonly pool: BlsPool,
    private readonly threshold: number,
    private readonly duties: ReadonlySet<string>,
    private readonly acceptSlot: (slot: number) => boolean,
  ) {
    this.unsubscribe = transport.subscribe("partial_sig", (origin, _slot, payload) => {
      const batch = decodePartialSigs(payload);
      if (!batch || !this.duties.has(batch.duty) || !this.acceptSlot(batch.slot)) return;
      for (const s of batch.sigs) this.add(PartialSigCollector.key(batch.duty, batch.slot, s.pubkey, s.root), origin, Buffer.from(s.sig.slice(2), "hex"));
    });
  }

  /** Signs `message` for one validator and waits for the recovered signature (or `deadline`, whichever first). */
  signAndExchange(duty: string, slot: number, share: ShareKey, message: Uint8Array, deadline: Promise<never>): Promise<Uint8Array> {
    const root = toHex(message);
    const key = PartialSigCollector.key(duty, slot, share.pubkey, root);
    const recovered = new Promise<Uint8Array>((resolve) => this.waiters.set(key, {message, share, resolve, recovering: false, done: false}));
    const sig = sign(share.secret, message);
    this.transport.publish("partial_sig", slot, encodePartialSigs({duty, slot, sigs: [{pubkey: share.pubkey, root, sig: toHex(sig)}]}));
    this.add(key, this.transport.self, sig);
    return Promise.race([recovered, deadline]).finally(() => this.waiters.delete(key));
  }

  prune(beforeSlot: number): void {
    this.collector.prune(beforeSlot);
  }

  stop(): void {
    this.unsubscribe();
  }

  private add(key: string, shareIndex: number, sig: Uint8Array): void {
    const count = this.collector.add(key, shareIndex, new Uint8Array(sig));
    const w = this.waiters.get(key);
    if (!w || w.done || w.recovering || count < this.threshold) return;
    w.recovering = true;
    void this.pool
      .recoverAndVerify({message: w.message, pubkey: Buffer.from(w.share.pubkey.slice(2), "hex"), sharePubkeys: w.share.sharePubkeys, threshold: this.threshold, partials: this.collector.partials(key)})
      .then(
        (res) => {
          w.recovering = false;
          if (res.ok) {
            w.done = true;
            w.resolve(res.signature);
          }
        },
        () => (w.recovering = false),
      );
  }
}
