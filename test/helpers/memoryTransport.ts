import type {ClusterTransport, DutyChunkKind} from "../../src/roles/validator/clusterTransport.js";
import {decodePartialSigs, encodePartialSigs} from "../../src/roles/validator/exchange/partialSigs.js";

/**
 * In-process stand-in for the store role's push network, for unit tests of the duty layer above it: every
 * publish reaches every other node's subscribers on a later tick, in order. `cut` silences a node both ways.
 */
export class MemoryHub {
  private readonly subs = new Map<
    number,
    Map<DutyChunkKind, Set<(origin: number, slot: number, payload: Uint8Array) => void>>
  >();
  readonly down = new Set<number>();
  /** Every chunk a node published, in order: what a test counts to see how a duty's partials travel. */
  readonly published: {from: number; kind: DutyChunkKind; slot: number; payload: Uint8Array}[] = [];

  transport(self: number): ClusterTransport {
    const mine = new Map<DutyChunkKind, Set<(origin: number, slot: number, payload: Uint8Array) => void>>();
    this.subs.set(self, mine);
    return {
      self,
      publish: (kind, slot, payload) => {
        if (this.down.has(self)) return;
        this.published.push({from: self, kind, slot, payload});
        for (const [node, kinds] of this.subs) {
          if (node === self || this.down.has(node)) continue;
          for (const h of kinds.get(kind) ?? []) setImmediate(() => h(self, slot, payload));
        }
      },
      subscribe: (kind, handler) => {
        let set = mine.get(kind);
        if (!set) mine.set(kind, (set = new Set()));
        set.add(handler);
        return () => set.delete(handler);
      },
      // As the store role's transport: a node down is connected to no one, and no one to it.
      isConnected: (peer) => !this.down.has(self) && !this.down.has(peer),
    };
  }
}

/**
 * A lying peer's transport: while `on`, every attestation partial it pushes carries another validator's signature
 * (a valid G2 point, so only verification against the share key can catch it). Needs two validators in a batch.
 */
export function corruptingPartials(t: ClusterTransport, on: () => boolean = () => true): ClusterTransport {
  return {
    ...t,
    publish: (kind, slot, payload) => {
      const batch = kind === "partial_sig" && on() ? decodePartialSigs(payload) : null;
      if (!batch || batch.duty !== "attester" || batch.sigs.length < 2) return t.publish(kind, slot, payload);
      const sigs = batch.sigs.map((s, i) => ({
        ...s,
        sig: (batch.sigs[(i + 1) % batch.sigs.length] as {sig: string}).sig,
      }));
      t.publish(kind, slot, encodePartialSigs({...batch, sigs}));
    },
  };
}

/** Whether a chunk is a batch of attestation partials (what heldOut may hold). */
export function attesterPartials(kind: DutyChunkKind, payload: Uint8Array): boolean {
  return kind === "partial_sig" && decodePartialSigs(payload)?.duty === "attester";
}

/**
 * A node whose chunks of one kind (those `held` picks) wait until `release` resolves, then go out in order: a slow
 * link that a test times by what happened elsewhere rather than by a guess in ms.
 */
export function heldOut(
  t: ClusterTransport,
  held: (kind: DutyChunkKind, payload: Uint8Array) => boolean,
  release: Promise<void>,
): ClusterTransport {
  let open = false;
  const waiting: Parameters<ClusterTransport["publish"]>[] = [];
  void release.then(() => {
    open = true;
    for (const args of waiting.splice(0)) t.publish(...args);
  });
  return {
    ...t,
    publish: (kind, slot, payload) =>
      open || !held(kind, payload) ? t.publish(kind, slot, payload) : void waiting.push([kind, slot, payload]),
  };
}
