/** Chunk kinds the duty pipeline exchanges with the cluster. */
export type DutyChunkKind = "qbft" | "partial_sig" | "partial_exit";

/**
 * What duties need from the store role: push a payload to every peer as a signed chunk, and hear the
 * chunks peers pushed (already signature-checked and admitted, with the origin's 1-based operator index).
 */
export interface ClusterTransport {
  readonly self: number;
  publish(kind: DutyChunkKind, slot: number, payload: Uint8Array): void;
  subscribe(kind: DutyChunkKind, handler: (origin: number, slot: number, payload: Uint8Array) => void): () => void;
  /** Whether this node holds a live connection to operator `peer` now; a transport that cannot tell omits it. */
  isConnected?(peer: number): boolean;
}
