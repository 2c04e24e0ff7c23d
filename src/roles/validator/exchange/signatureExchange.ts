import {toHex} from "../../../hotpath/bytes.js";
import type {BlsPool} from "../../../workers/blsPool.js";
import {SignatureStepError} from "../tracking/outcome.js";
import {PartialSigCollector, decodePartialSigs, encodePartialSigs} from "./partialSigs.js";
import type {PublicShare} from "../signing/shareKeys.js";
import {type Signer, type Slashable, SignerError} from "../signing/signer.js";
import {errorMessage} from "../../../util/errors.js";
import type {ClusterTransport} from "../clusterTransport.js";

/**
 * Partials one origin may have waiting for this node's own decision, per cluster validator: a validator signs
 * at most ~8 roots a slot (randao or proposal, selection, aggregate, sync message, up to 4 sync subcommittee
 * selections), and a peer ahead of this node by one decision sends all of them before this node awaits them.
 */
export const EARLY_PER_VALIDATOR = 8;
/** The early buffer's floor, for tiny clusters and tests without a validator set: a slot of one validator's roots, many times over. */
export const EARLY_MIN = 64;
/**
 * Most partials one batch carries per cluster validator: one per root it signs for one duty in one slot,
 * at most one per sync subcommittee (4). A bigger batch is not from an honest node and is dropped unread.
 */
export const MAX_SIGS_PER_VALIDATOR = 4;
/** Bytes of one partial in a batch's JSON (pubkey 98, root 66, sig 194 characters, keys and quotes): the payload cap's unit. */
const PARTIAL_JSON_BYTES = 400;

/** Why partials were dropped before the collector: each a metric label. */
export type PartialDropReason = "malformed" | "not_accepted" | "oversized" | "unknown_validator" | "early_evicted";

export interface SignatureExchangeOptions {
  /** The cluster's validator pubkeys (0x hex): partials for any other key are dropped. */
  validators?: ReadonlySet<string>;
  /** Told of every drop, with how many partials it cost (a batch dropped whole counts its size, or 1 unread). */
  onDropped?: (reason: PartialDropReason, origin: number, count: number) => void;
}

interface Waiter {
  message: Uint8Array;
  share: PublicShare;
  resolve: (sig: Uint8Array) => void;
  /**
   * Whether this node's own share signed (slashing protection allowed it). Until then partials only gather:
   * a duty this node refused to sign must not end in a signature recovered from the others' partials.
   */
  signed: boolean;
  recovering: boolean;
  done: boolean;
}

/** One message to sign for one validator. */
export interface ExchangeItem {
  share: PublicShare;
  message: Uint8Array;
  /** For the Signer's slashing protection; absent for messages no one can be slashed for. */
  slashable?: Slashable;
  /** Told once this node's share signed (the duty's `sign` stage). */
  onSigned?: () => void;
}

interface Fresh {
  key: string;
  item: ExchangeItem;
  refuse: (e: unknown) => void;
  /** Set for a partial shared but not recovered here: told once it is published. */
  shared?: () => void;
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
  /**
   * Per origin: partials for roots this node neither awaits nor signed yet, oldest first, bounded. They join
   * the collector when this node awaits their root; until then a flooding member fills only its own buffer.
   */
  private readonly early = new Map<number, Map<string, {slot: number; sig: Uint8Array}>>();
  /** Signatures this node signs and shares but leaves to other operators to recover (key to slot): peers' partials for them are not kept. */
  private readonly sharedOnly = new Map<string, number>();
  private readonly earlyCap: number;
  private readonly maxSigs: number;
  readonly dropped: Record<PartialDropReason, number> = {
    malformed: 0,
    not_accepted: 0,
    oversized: 0,
    unknown_validator: 0,
    early_evicted: 0,
  };

  constructor(
    private readonly transport: ClusterTransport,
    private readonly signer: Signer,
    private readonly pool: BlsPool,
    private readonly threshold: number,
    private readonly duties: ReadonlySet<string>,
    private readonly acceptSlot: (slot: number) => boolean,
    private readonly o: SignatureExchangeOptions = {},
  ) {
    const validators = o.validators?.size;
    this.earlyCap = validators === undefined ? EARLY_MIN * 16 : Math.max(EARLY_MIN, EARLY_PER_VALIDATOR * validators);
    this.maxSigs =
      validators === undefined ? Number.POSITIVE_INFINITY : Math.max(1, MAX_SIGS_PER_VALIDATOR * validators);
    this.unsubscribe = transport.subscribe("partial_sig", (origin, _slot, payload) => this.receive(origin, payload));
  }

  private drop(reason: PartialDropReason, origin: number, count: number): void {
    this.dropped[reason] += count;
    this.o.onDropped?.(reason, origin, count);
  }

  private receive(origin: number, payload: Uint8Array): void {
    // Sized before parsing: a 1 MiB batch is ~20 ms of JSON and schema work an honest batch never needs.
    if (payload.length > this.maxSigs * PARTIAL_JSON_BYTES + 256) return this.drop("oversized", origin, 1);
    const batch = decodePartialSigs(payload);
    if (!batch) return this.drop("malformed", origin, 1);
    if (!this.duties.has(batch.duty) || !this.acceptSlot(batch.slot))
      return this.drop("not_accepted", origin, batch.sigs.length);
    if (batch.sigs.length > this.maxSigs) return this.drop("oversized", origin, batch.sigs.length);
    let unknown = 0;
    for (const s of batch.sigs) {
      if (this.o.validators && !this.o.validators.has(s.pubkey)) {
        unknown++;
        continue;
      }
      const key = PartialSigCollector.key(batch.duty, batch.slot, s.pubkey, s.root);
      if (this.sharedOnly.has(key)) continue;
      const sig = Buffer.from(s.sig.slice(2), "hex");
      // Awaited, or signed by this node already (its own partial is in the collector): the collector keeps it.
      if (this.waiters.has(key) || this.collector.has(key)) this.add(key, origin, sig);
      else this.hold(origin, key, batch.slot, sig);
    }
    if (unknown > 0) this.drop("unknown_validator", origin, unknown);
  }

  /** An early arrival waits in its origin's bounded buffer; the oldest goes when it is full. */
  private hold(origin: number, key: string, slot: number, sig: Uint8Array): void {
    let buf = this.early.get(origin);
    if (!buf) this.early.set(origin, (buf = new Map()));
    if (buf.has(key)) return;
    if (buf.size >= this.earlyCap) {
      buf.delete(buf.keys().next().value as string);
      this.drop("early_evicted", origin, 1);
    }
    buf.set(key, {slot, sig});
  }

  /** Partials that arrived before this node awaited `key`, now that it does. */
  private release(key: string): void {
    for (const [origin, buf] of this.early) {
      const e = buf.get(key);
      if (!e) continue;
      buf.delete(key);
      this.add(key, origin, e.sig);
    }
  }

  /** Early arrivals held, over every origin (for tests and status). */
  get earlyHeld(): number {
    let n = 0;
    for (const b of this.early.values()) n += b.size;
    return n;
  }

  /**
   * Signs `message` for one validator and waits for the recovered signature; at `deadline` it rejects with a
   * SignatureStepError that says which nodes sent partials and whose did not verify, and at once with the
   * Signer's error when this node refuses to sign (slashing protection).
   */
  signAndExchange(duty: string, slot: number, item: ExchangeItem, deadline: Promise<never>): Promise<Uint8Array> {
    return this.signAndExchangeAll(duty, slot, [item], deadline)[0] as Promise<Uint8Array>;
  }

  /**
   * The same for many validators at once (a slot's attesters or sync committee members): one Signer call
   * (one slashing-protection commit), and one `partial_sig` chunk carries every partial, so a slot costs each
   * peer one chunk instead of one per validator. One promise per item.
   */
  signAndExchangeAll(
    duty: string,
    slot: number,
    items: ExchangeItem[],
    deadline: Promise<never>,
  ): Promise<Uint8Array>[] {
    return this.signRecoverAndShare(duty, slot, items, [], deadline).recovered;
  }

  /**
   * A slot's attestations under `--recoverers designated`: those this node recovers (as signAndExchangeAll) and
   * those it only shares (as signAndShareAll), signed in one Signer call (one slashing-protection commit) and
   * published in one chunk. Two calls made two commits and two chunks a slot, and recovery waits for peers'
   * shared partials anyway.
   */
  signRecoverAndShare(
    duty: string,
    slot: number,
    recover: ExchangeItem[],
    share: ExchangeItem[],
    deadline: Promise<never>,
  ): {recovered: Promise<Uint8Array>[]; shared: Promise<void>[]} {
    const fresh: Fresh[] = [];
    const recovered = this.awaitAll(duty, slot, recover, deadline, fresh);
    const shared = this.shareAll(duty, slot, share, fresh);
    if (fresh.length > 0) void this.signAndPublish(duty, slot, fresh);
    return {recovered, shared};
  }

  /** A recovery waiter per item (one per distinct signature), the ones to sign added to `fresh`. */
  private awaitAll(
    duty: string,
    slot: number,
    items: ExchangeItem[],
    deadline: Promise<never>,
    fresh: Fresh[],
  ): Promise<Uint8Array>[] {
    const byKey = new Map<string, Promise<Uint8Array>>();
    const out = items.map((item) => {
      const key = PartialSigCollector.key(duty, slot, item.share.pubkey, toHex(item.message));
      const known = byKey.get(key);
      if (known) return known;
      const waiter: Waiter = {
        message: item.message,
        share: item.share,
        resolve: () => {},
        signed: false,
        recovering: false,
        done: false,
      };
      let refuse: (e: unknown) => void = () => {};
      const recovered = new Promise<Uint8Array>((resolve, reject) => {
        waiter.resolve = resolve;
        refuse = reject;
      });
      this.waiters.set(key, waiter);
      const explained = deadline.catch((e: unknown) => {
        const have = this.collector.partials(key).map((p) => p.shareIndex);
        throw new SignatureStepError(
          {
            code: "PARTIALS_INSUFFICIENT",
            duty,
            slot,
            have,
            invalid: [...(this.invalid.get(key) ?? [])],
            threshold: this.threshold,
          },
          `${duty} signature for slot ${slot} not recovered (${e instanceof Error ? e.message : String(e)}): partials from node(s) ${have.join(", ") || "none"}`,
        );
      });
      const p = Promise.race([recovered, explained]).finally(() => this.waiters.delete(key));
      byKey.set(key, p);
      fresh.push({key, item, refuse});
      return p;
    });
    return out;
  }

  /**
   * Signs and shares partials that other operators recover (`--recoverers designated`, exchange/recoverers.ts):
   * one Signer call and one `partial_sig` chunk for all of them, as signAndExchangeAll makes, but no recovery
   * here, and peers' partials for these signatures are dropped unread. One promise per item: resolved once this node's partial
   * is published, rejected with the Signer's error when it refuses (slashing protection).
   */
  signAndShareAll(duty: string, slot: number, items: ExchangeItem[]): Promise<void>[] {
    // Nothing recovered here, so nothing waits on a deadline.
    return this.signRecoverAndShare(duty, slot, [], items, new Promise<never>(() => {})).shared;
  }

  private shareAll(duty: string, slot: number, items: ExchangeItem[], fresh: Fresh[]): Promise<void>[] {
    return items.map((item) => {
      const key = PartialSigCollector.key(duty, slot, item.share.pubkey, toHex(item.message));
      this.sharedOnly.set(key, slot);
      return new Promise<void>((resolve, reject) => fresh.push({key, item, refuse: reject, shared: resolve}));
    });
  }

  private async signAndPublish(duty: string, slot: number, fresh: Fresh[]): Promise<void> {
    let outcomes;
    try {
      outcomes = await this.signer.signAll(
        fresh.map(({item}) => ({
          pubkey: item.share.pubkey,
          message: item.message,
          ...(item.slashable ? {slashable: item.slashable} : {}),
        })),
      );
    } catch (e) {
      // Slashing protection could not answer (its DB failed): nothing was signed.
      for (const f of fresh)
        f.refuse(
          new SignerError(
            {code: "SLASHING_REFUSED", pubkey: f.item.share.pubkey, reason: errorMessage(e)},
            `slashing protection failed: ${errorMessage(e)}`,
          ),
        );
      return;
    }
    const sigs: {pubkey: string; root: string; sig: string}[] = [];
    const own: [string, Uint8Array][] = [];
    const shared: Fresh[] = [];
    fresh.forEach((f, k) => {
      const o = outcomes[k];
      if (!o?.ok) {
        const w = this.waiters.get(f.key);
        if (w) w.done = true;
        return f.refuse(o?.error ?? new Error("the signer gave no answer"));
      }
      f.item.onSigned?.();
      sigs.push({pubkey: f.item.share.pubkey, root: toHex(f.item.message), sig: toHex(o.signature)});
      if (f.shared) shared.push(f);
      else own.push([f.key, o.signature]);
    });
    if (sigs.length > 0) this.transport.publish("partial_sig", slot, encodePartialSigs({duty, slot, sigs}));
    for (const f of shared) {
      for (const buf of this.early.values()) buf.delete(f.key);
      f.shared?.();
    }
    for (const [key, sig] of own) {
      const w = this.waiters.get(key);
      if (w) w.signed = true;
      this.add(key, this.transport.self, sig);
      this.release(key);
    }
  }

  /** Operators whose partial for this signature did not verify (so far). */
  invalidPartials(duty: string, slot: number, pubkey: string, message: Uint8Array): number[] {
    return [...(this.invalid.get(PartialSigCollector.key(duty, slot, pubkey, toHex(message))) ?? [])].sort(
      (a, b) => a - b,
    );
  }

  prune(beforeSlot: number): void {
    this.collector.prune(beforeSlot);
    for (const k of this.invalid.keys()) if (Number(k.split("/")[1]) < beforeSlot) this.invalid.delete(k);
    for (const buf of this.early.values()) for (const [k, e] of buf) if (e.slot < beforeSlot) buf.delete(k);
    for (const [k, slot] of this.sharedOnly) if (slot < beforeSlot) this.sharedOnly.delete(k);
  }

  stop(): void {
    this.unsubscribe();
  }

  private add(key: string, shareIndex: number, sig: Uint8Array): void {
    this.collector.add(key, shareIndex, new Uint8Array(sig));
    this.recover(key);
  }

  /**
   * Recovers `key`'s signature once this node signed and a threshold of partials is in, one attempt at a time.
   * Partials that come during an attempt are collected; if the attempt fails (a bad partial among those it
   * used), the next one runs with them at once, so a cluster whose last honest partial lands mid-attempt still
   * signs instead of waiting for a partial that will never come.
   */
  private recover(key: string): void {
    const w = this.waiters.get(key);
    if (!w || !w.signed || w.done || w.recovering) return;
    const partials = this.collector.partials(key);
    if (partials.length < this.threshold) return;
    w.recovering = true;
    const retryIfMore = () => {
      w.recovering = false;
      if (this.collector.partials(key).length > partials.length) this.recover(key);
    };
    void this.pool
      .recoverAndVerify({
        message: w.message,
        pubkey: Buffer.from(w.share.pubkey.slice(2), "hex"),
        sharePubkeys: w.share.sharePubkeys,
        threshold: this.threshold,
        partials,
      })
      .then((res) => {
        if (res.badShares.length > 0) {
          const bad = this.invalid.get(key) ?? new Set<number>();
          for (const b of res.badShares) bad.add(b);
          this.invalid.set(key, bad);
        }
        if (res.ok) {
          w.recovering = false;
          w.done = true;
          w.resolve(res.signature);
        } else retryIfMore();
      }, retryIfMore);
  }
}
