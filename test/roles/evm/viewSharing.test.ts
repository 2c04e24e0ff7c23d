import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {W_SLOT_ALLOWANCE} from "../../../src/hotpath/limiters.js";
import {type BlockView, decodeBlockView, encodeBlockView} from "../../../src/roles/evm/blockView.js";
import {PeerViews} from "../../../src/roles/evm/peerViews.js";
import type {BlockVerdict} from "../../../src/roles/evm/verdict.js";
import {type Contradiction, ViewSharing, type ViewTransport} from "../../../src/roles/evm/viewSharing.js";

const root = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
const timings = {slotsMs: 0, signaturesMs: 0, blockMs: 0, hashMs: 0, totalMs: 0};
const verified = (slot: number, n = slot): BlockVerdict => ({
  status: "verified",
  slot,
  root: root(n),
  parentRoot: root(n - 1),
  stateRoot: root(1000 + n),
  timings,
});

/** The devnet's invalid head: a second block at slot 19 beside the valid one. */
const invalidSibling: BlockVerdict = {
  status: "invalid",
  slot: 19,
  root: root(119),
  parentRoot: root(18),
  reason: "bad_state_root",
  detail: "d",
};

/** The store as the EVM role sees it, in memory: what was published, and a way to deliver a peer's chunk. */
class TransportTwin implements ViewTransport {
  readonly self = 1;
  slot: number | undefined = 20;
  readonly published: {slot: number; view: BlockView}[] = [];
  /** What the series already holds of this node's views per slot (a restart). */
  readonly inSeries = new Map<number, Uint8Array[]>();
  private handler: ((origin: number, slot: number, payload: Uint8Array) => void) | null = null;

  publish(slot: number, payload: Uint8Array): Promise<boolean> {
    this.published.push({slot, view: decodeBlockView(payload, slot)});
    return Promise.resolve(true);
  }
  subscribe(handler: (origin: number, slot: number, payload: Uint8Array) => void): () => void {
    this.handler = handler;
    return () => (this.handler = null);
  }
  sentForSlot(slot: number): Uint8Array[] {
    return this.inSeries.get(slot) ?? [];
  }
  currentSlot(): number | undefined {
    return this.slot;
  }
  deliver(origin: number, slot: number, payload: Uint8Array): void {
    this.handler?.(origin, slot, payload);
  }
}

function setup(own = new Map<string, BlockVerdict>()) {
  const transport = new TransportTwin();
  const peers = new PeerViews();
  const contradictions: Contradiction[] = [];
  const malformed: string[] = [];
  const notSent: BlockView[] = [];
  const sharing = new ViewSharing(transport, peers, (r) => own.get(r), {
    contradiction: (c) => contradictions.push(c),
    malformed: (_o, _s, reason) => malformed.push(reason),
    notSent: (v) => notSent.push(v),
  });
  sharing.start();
  return {transport, peers, sharing, contradictions, malformed, notSent, own};
}

describe("block view sharing (the EVM role's eth_block chunks, on an in-memory store)", () => {
  it("shares each recent verdict, never one a duty can no longer use, and at most two per slot", () => {
    const {transport, sharing, notSent} = setup();
    sharing.share(verified(19));
    sharing.share(verified(5));
    sharing.share({status: "unavailable", root: root(99), reason: "fetch_failed", detail: "404"});
    assert.deepEqual(
      transport.published.map((p) => [p.slot, p.view.root, p.view.verdict]),
      [[19, root(19), "valid"]],
      "slot 5 is 15 slots old; a verdict without a slot has no chunk",
    );
    // A slot with two blocks (the valid one and an invalid sibling), then a third verdict for that slot.
    sharing.share(invalidSibling);
    sharing.share(verified(19, 219));
    assert.equal(transport.published.length, W_SLOT_ALLOWANCE);
    assert.deepEqual(
      notSent.map((v) => v.root),
      [root(219)],
    );
    // After a restart the series says what was sent already: the same verdict is not shared again, another one
    // is while the slot has room, and none once the slot's allowance is spent.
    const sentBefore = (slot: number, n: number) =>
      encodeBlockView({slot, root: root(n), parentRoot: root(n - 1), verdict: "valid"});
    transport.inSeries.set(18, [sentBefore(18, 18)]);
    sharing.share(verified(18));
    assert.equal(transport.published.length, W_SLOT_ALLOWANCE, "18's view was shared before the restart");
    sharing.share(verified(18, 118));
    assert.equal(transport.published.length, W_SLOT_ALLOWANCE + 1, "a second block at 18");
    transport.inSeries.set(17, [sentBefore(17, 17), sentBefore(17, 117)]);
    sharing.share(verified(17, 217));
    assert.equal(transport.published.length, W_SLOT_ALLOWANCE + 1, "17's allowance was spent before the restart");
  });

  it("records peers' views, ignores its own coming back, and reports a malformed one", () => {
    const {transport, peers, malformed} = setup();
    const view: BlockView = {slot: 19, root: root(19), parentRoot: root(18), verdict: "valid"};
    transport.deliver(2, 19, encodeBlockView(view));
    transport.deliver(3, 19, encodeBlockView(view));
    transport.deliver(1, 19, encodeBlockView(view));
    transport.deliver(4, 19, Buffer.from("{}"));
    transport.deliver(4, 18, encodeBlockView(view));
    assert.deepEqual(peers.validBy(root(19)), [2, 3]);
    assert.equal(malformed.length, 2);
    assert.match(malformed[1] ?? "", /slot is 19, the chunk's slot is 18/);
    assert.deepEqual(peers.summary()["2"], {lastSlot: 19, valid: 1, invalid: 0, unverified: 0});
  });

  it("reports a peer contradicting this node's verdict, whichever came first", () => {
    const own = new Map<string, BlockVerdict>();
    const {transport, sharing, contradictions} = setup(own);
    own.set(root(19), verified(19));
    transport.deliver(
      3,
      19,
      encodeBlockView({slot: 19, root: root(19), parentRoot: root(18), verdict: "invalid", reason: "bad_signature"}),
    );
    transport.deliver(2, 19, encodeBlockView({slot: 19, root: root(19), parentRoot: root(18), verdict: "valid"}));
    transport.deliver(
      4,
      19,
      encodeBlockView({slot: 19, root: root(19), parentRoot: root(18), verdict: "unverified", reason: "fetch_failed"}),
    );
    assert.deepEqual(contradictions, [
      {
        peer: 3,
        slot: 19,
        root: root(19),
        own: {status: "verified"},
        theirs: {verdict: "invalid", reason: "bad_signature"},
      },
    ]);
    // The peer's view first, then this node's own verdict.
    transport.deliver(2, 19, encodeBlockView({slot: 19, root: root(119), parentRoot: root(18), verdict: "valid"}));
    sharing.share(invalidSibling);
    assert.deepEqual(contradictions[1], {
      peer: 2,
      slot: 19,
      root: root(119),
      own: {status: "invalid", reason: "bad_state_root"},
      theirs: {verdict: "valid"},
    });
  });
});
