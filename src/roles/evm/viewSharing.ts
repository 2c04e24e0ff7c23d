import {OBJECTIVE_CURRENT_SLOTS, W_SLOT_ALLOWANCE} from "../../hotpath/limiters.js";
import {errorMessage} from "../../util/errors.js";
import {type BlockView, decodeBlockView, encodeBlockView, viewOf} from "./blockView.js";
import {type PeerViews, contradicts} from "./peerViews.js";
import type {BlockVerdict} from "./verdict.js";

/** How block views reach the peers and come back from them: the store role's push, seen through the node's wiring. */
export interface ViewTransport {
  readonly self: number;
  /**
   * Signs an `eth_block` chunk for `slot` and pushes it to every peer (recorded in the series first); false when
   * it could not be sent. Never rejects: the transport logs why.
   */
  publish(slot: number, payload: Uint8Array): Promise<boolean>;
  /** Calls `handler` with every `eth_block` chunk the store admitted; returns the unsubscribe function. */
  subscribe(handler: (origin: number, slot: number, payload: Uint8Array) => void): () => void;
  /**
   * The payloads of this node's `eth_block` chunks of `slot` in its series: a restarted node verifies recent blocks
   * again, and must neither share them twice nor spend a slot's allowance again.
   */
  sentForSlot(slot: number): Uint8Array[];
  currentSlot(): number | undefined;
}

/** What sharing reports: each becomes a metric, a log line and (a contradiction) a series entry in the node's wiring. */
export interface ViewSharingEvents {
  sent?(view: BlockView): void;
  /** A view of this node's not sent: the slot's allowance (W_SLOT_ALLOWANCE) already spent. */
  notSent?(view: BlockView): void;
  received?(origin: number, view: BlockView): void;
  malformed?(origin: number, slot: number, reason: string): void;
  /** A peer and this node disagree on a block: one found it valid, the other invalid. */
  contradiction?(c: Contradiction): void;
}

export interface Contradiction {
  peer: number;
  slot: number;
  root: string;
  /** This node's verdict (verified or invalid) and the peer's view (valid or invalid), with the reasons given. */
  own: {status: string; reason?: string};
  theirs: {verdict: string; reason?: string};
}

/**
 * The EVM role's step "push the verdicts" (issue 11, step 3): each verdict this node reaches on a recent block
 * becomes an `eth_block` chunk pushed to every peer, and every peer's chunk becomes a view in `peers`, which
 * `--verify enforce` reads when this node's own verification lags. A view that contradicts this node's own
 * verdict is reported, whichever of the two came first.
 */
export class ViewSharing {
  /** Views sent per slot by this process: the series counts a chunk only once it is appended. */
  private readonly sentBySlot = new Map<number, number>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly transport: ViewTransport,
    private readonly peers: PeerViews,
    private readonly ownVerdict: (root: string) => BlockVerdict | undefined,
    private readonly events: ViewSharingEvents = {},
  ) {}

  start(): void {
    this.unsubscribe ??= this.transport.subscribe((origin, slot, payload) => this.receive(origin, slot, payload));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /**
   * Shares this node's verdict, when it can still help a duty: a block more than OBJECTIVE_CURRENT_SLOTS old
   * (verified while catching up after a start) is past every duty that could sign on it, and peers would file it
   * as history. A verdict contradicting a view already heard is reported here.
   */
  share(v: BlockVerdict): void {
    const view = viewOf(v);
    if (!view) return;
    for (const [peer, theirs] of this.peers.viewsOf(view.root)) this.check(peer, theirs, v);
    const now = this.transport.currentSlot();
    if (now === undefined || now - view.slot >= OBJECTIVE_CURRENT_SLOTS) return;
    const before = this.transport.sentForSlot(view.slot).flatMap((p) => {
      try {
        return [decodeBlockView(p, view.slot)];
      } catch {
        return [];
      }
    });
    // Shared before this process started: the peers have it.
    if (before.some((b) => b.root === view.root && b.verdict === view.verdict)) return;
    const sent = Math.max(this.sentBySlot.get(view.slot) ?? 0, before.length);
    if (sent >= W_SLOT_ALLOWANCE) {
      this.events.notSent?.(view);
      return;
    }
    this.sentBySlot.set(view.slot, sent + 1);
    for (const s of this.sentBySlot.keys()) if (s < now - OBJECTIVE_CURRENT_SLOTS) this.sentBySlot.delete(s);
    void this.transport.publish(view.slot, encodeBlockView(view)).then((ok) => ok && this.events.sent?.(view));
  }

  private receive(origin: number, slot: number, payload: Uint8Array): void {
    // This node's own views come back only through catch-up after a restart: it has its own verdicts.
    if (origin === this.transport.self) return;
    let view: BlockView;
    try {
      view = decodeBlockView(payload, slot);
    } catch (e) {
      this.events.malformed?.(origin, slot, errorMessage(e));
      return;
    }
    this.peers.record(origin, view);
    this.events.received?.(origin, view);
    const own = this.ownVerdict(view.root);
    if (own) this.check(origin, view, own);
  }

  private check(peer: number, theirs: BlockView, own: BlockVerdict): void {
    if (!contradicts(own, theirs)) return;
    this.events.contradiction?.({
      peer,
      slot: theirs.slot,
      root: theirs.root,
      own: {status: own.status, ...("reason" in own ? {reason: own.reason} : {})},
      theirs: {verdict: theirs.verdict, ...(theirs.reason === undefined ? {} : {reason: theirs.reason})},
    });
  }
}
