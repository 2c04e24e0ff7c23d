import {toHex} from "../../../hotpath/bytes.js";
import {sign} from "../../../hotpath/threshold.js";
import type {BlsPool} from "../../../workers/blsPool.js";
import {SignatureStepError} from "./outcome.js";
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
  /** Operators whose partial did not verify, per signature, as the pool named them; kept until pruned so results can cite them. */
  private readonly invalid = new Map<string, Set<number>>();
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

  /**
   * Signs `message` for one validator and waits for the recovered signature; at `deadline` it rejects with a
   * SignatureStepError that says which nodes sent partials and whose did not verify.
   */
  signAndExchange(duty: string, slot: number, share: ShareKey, message: Uint8Array, deadline: Promise<never>): Promise<Uint8Array> {
    const root = toHex(message);
    const key = PartialSigCollector.key(duty, slot, share.pubkey, root);
    const waiter: Waiter = {message, share, resolve: () => {}, recovering: false, done: false};
    const recovered = new Promise<Uint8Array>((resolve) => (waiter.resolve = resolve));
    this.waiters.set(key, waiter);
    const sig = sign(share.secret, message);
    this.transport.publish("partial_sig", slot, encodePartialSigs({duty, slot, sigs: [{pubkey: share.pubkey, root, sig: toHex(sig)}]}));
    this.add(key, this.transport.self, sig);
    const explained = deadline.catch((e: unknown) => {
      const have = this.collector.partials(key).map((p) => p.shareIndex);
      throw new SignatureStepError(
        {code: "PARTIALS_INSUFFICIENT", duty, slot, have, invalid: [...(this.invalid.get(key) ?? [])], threshold: this.threshold},
        `${duty} signature for slot ${slot} not recovered (${e instanceof Error ? e.message : String(e)}): partials from node(s) ${have.join(", ") || "none"}`,
      );
    });
    return Promise.race([recovered, explained]).finally(() => this.waiters.delete(key));
  }

  /** Operators whose partial for this signature did not verify (so far). */
  invalidPartials(duty: string, slot: number, pubkey: string, message: Uint8Array): number[] {
    return [...(this.invalid.get(PartialSigCollector.key(duty, slot, pubkey, toHex(message))) ?? [])].sort((a, b) => a - b);
  }

  prune(beforeSlot: number): void {
    this.collector.prune(beforeSlot);
    for (const k of this.invalid.keys()) if (Number(k.split("/")[1]) < beforeSlot) this.invalid.delete(k);
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
          if (res.badShares.length > 0) {
            const bad = this.invalid.get(key) ?? new Set<number>();
            for (const b of res.badShares) bad.add(b);
            this.invalid.set(key, bad);
          }
          if (res.ok) {
            w.done = true;
            w.resolve(res.signature);
          }
        },
        () => (w.recovering = false),
      );
  }
}
