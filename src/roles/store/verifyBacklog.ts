import {onNextTurn} from "../../util/nextTurn.js";
import {PEER_BYTE_BURST} from "./peerBudget.js";

/**
 * Bytes one peer may have waiting for their signature check: its byte burst. The budget lets no more in at
 * once; a backlog beyond it means checks fall behind, and refusing is cheaper than holding what will be late.
 */
export const VERIFY_BACKLOG_BYTES = PEER_BYTE_BURST;
/**
 * Signature checks run in slices of this many ms per event-loop turn (~40 checks), then the loop serves the
 * network: a flood costs other peers at most one slice of waiting per turn, far under the 50 ms bound.
 */
export const VERIFY_SLICE_MS = 4;

/**
 * Chunks waiting for their signature check, in one queue per peer served in turn, a slice of the event loop
 * at a time: a flooding peer's backlog never stands in front of another peer's chunk, and the network keeps
 * being served in between. Each peer's queue is bounded in bytes (VERIFY_BACKLOG_BYTES).
 */
export class VerifyBacklog<T> {
  private readonly byPeer = new Map<number, {items: {item: T; bytes: number}[]; bytes: number}>();
  private readonly schedule = onNextTurn(() => this.checkSome());

  /** `check` runs once per item, in turn across peers. */
  constructor(private readonly check: (item: T) => void) {}

  /** Whether `bytes` more from `peer` stay within its bound: asked before anything is copied for the queue. */
  hasRoom(peer: number, bytes: number): boolean {
    return (this.byPeer.get(peer)?.bytes ?? 0) + bytes <= VERIFY_BACKLOG_BYTES;
  }

  /** Queues `item` for its check (hasRoom said it fits). */
  add(peer: number, item: T, bytes: number): void {
    let q = this.byPeer.get(peer);
    if (!q) {
      q = {items: [], bytes: 0};
      this.byPeer.set(peer, q);
    }
    q.items.push({item, bytes});
    q.bytes += bytes;
    this.schedule();
  }

  private checkSome(): void {
    const end = performance.now() + VERIFY_SLICE_MS;
    let more = true;
    while (more && performance.now() < end) {
      more = false;
      for (const [peer, q] of this.byPeer) {
        const next = q.items.shift();
        if (!next) {
          this.byPeer.delete(peer);
          continue;
        }
        q.bytes -= next.bytes;
        more = true;
        this.check(next.item);
      }
    }
    if (this.byPeer.size > 0) this.schedule();
  }
}
