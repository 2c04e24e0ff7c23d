import {z} from "zod";
import {decodeJsonPayload, encodeJsonPayload} from "../../../util/jsonPayload.js";
import type {PartialSignature} from "../../../hotpath/threshold.js";

/** Payload of a `partial_sig` chunk: one node's share signatures for one duty of one slot, all validators at once. */
export interface PartialSigBatch {
  duty: string;
  slot: number;
  sigs: {pubkey: string; root: string; sig: string}[];
}

const batchSchema = z.object({
  duty: z.string().max(32),
  slot: z.number().int().nonnegative(),
  sigs: z
    .array(
      z.object({
        pubkey: z.string().regex(/^0x[0-9a-f]{96}$/),
        root: z.string().regex(/^0x[0-9a-f]{64}$/),
        sig: z.string().regex(/^0x[0-9a-f]{192}$/),
      }),
    )
    .max(10_000),
});

export function encodePartialSigs(b: PartialSigBatch): Uint8Array {
  return encodeJsonPayload(b);
}

export function decodePartialSigs(bytes: Uint8Array): PartialSigBatch | null {
  return decodeJsonPayload(bytes, batchSchema);
}

/**
 * Partial signatures grouped by (duty, slot, validator, signing root), from any node, in arrival order; a
 * node's second, different partial for the same root is ignored (the first one counts, a bad one is named at
 * recovery). Partials can arrive before this node has decided: they wait here under their root.
 */
export class PartialSigCollector {
  private readonly byKey = new Map<string, Map<number, Uint8Array>>();

  static key(duty: string, slot: number, pubkey: string, root: string): string {
    return `${duty}/${slot}/${pubkey}/${root}`;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Adds a partial; returns how many distinct shares now signed this root. */
  add(key: string, shareIndex: number, sig: Uint8Array): number {
    let m = this.byKey.get(key);
    if (!m) this.byKey.set(key, (m = new Map()));
    if (!m.has(shareIndex)) m.set(shareIndex, sig);
    return m.size;
  }

  partials(key: string): PartialSignature[] {
    return [...(this.byKey.get(key) ?? new Map<number, Uint8Array>()).entries()].map(([shareIndex, signature]) => ({
      shareIndex,
      signature,
    }));
  }

  prune(beforeSlot: number): void {
    for (const k of this.byKey.keys()) if (Number(k.split("/")[1]) < beforeSlot) this.byKey.delete(k);
  }
}
