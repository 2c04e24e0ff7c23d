import type {ClusterTransport, DutyChunkKind} from "../../src/roles/validator/clusterTransport.js";

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

  transport(self: number): ClusterTransport {
    const mine = new Map<DutyChunkKind, Set<(origin: number, slot: number, payload: Uint8Array) => void>>();
    this.subs.set(self, mine);
    return {
      self,
      publish: (kind, slot, payload) => {
        if (this.down.has(self)) return;
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
