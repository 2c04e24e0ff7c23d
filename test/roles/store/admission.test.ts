import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import type {Stream} from "@libp2p/interface";
import {loadLock} from "../../../src/cluster/lock.js";
import type {ClusterLock} from "../../../src/cluster/lockSchema.js";
import {toHex} from "../../../src/hotpath/bytes.js";
import {chunkId, encodeChunk} from "../../../src/hotpath/chunk.js";
import {FrameDecoder, frame} from "../../../src/hotpath/frames.js";
import type {ClusterPeer} from "../../../src/roles/dht/dhtRole.js";
import {PEER_BYTE_BURST, PEER_BYTES_PER_SEC} from "../../../src/roles/store/peerBudget.js";
import {
  OBJECTIVE_CURRENT_SLOTS,
  OBJECTIVE_RECENT_SLOTS,
  TOPOLOGY_MIN_PEERS,
  W_SLOT_ALLOWANCE,
} from "../../../src/hotpath/limiters.js";
import {FETCH_PROTOCOL} from "../../../src/roles/store/pushWire.js";
import {type TestCluster, makeCluster, waitFor} from "../../helpers/cluster.js";
import {Member} from "../../helpers/member.js";
import {type StoreNode, counterValue, startStoreNode} from "../../helpers/storeNode.js";

const SLOT = 1000;
/** The node's fetch cap, lowered from FETCH_MAX_CHUNKS so the test does not spend 10,000 signature checks reaching it. */
const FETCH_CAP = 100;

/** What the member's fetch server answers: chunks, then (unless `stall`) the end-of-answer frame. */
let answer: {chunks: Uint8Array[]; stall?: boolean} = {chunks: []};

async function serveAnswer(stream: Stream): Promise<void> {
  const decoder = new FrameDecoder(1 << 20);
  for await (const buf of stream) if (decoder.push(buf).length > 0) break;
  for (const c of answer.chunks) if (!stream.send(frame(c))) await stream.onDrain();
  if (answer.stall) return;
  stream.send(frame(new Uint8Array(0)));
  await stream.close().catch(() => undefined);
}

describe(
  "store admission on a real node (libp2p, series) against a member's pushes and fetch answers",
  {timeout: 120_000},
  () => {
    let c: TestCluster;
    let lock: ClusterLock;
    let n1: StoreNode;
    let m4: Member;
    let peer4: ClusterPeer;
    /** Members 2 and 3, connected by the topology check to take node 1 out of isolation. */
    const others: Member[] = [];

    before(async () => {
      c = await makeCluster(4);
      lock = await loadLock(c.lock);
      n1 = await startStoreNode(c, lock, 1, {
        currentSlot: () => SLOT,
        fetchDeadlineMs: 1500,
        fetchMaxChunks: FETCH_CAP,
      });
      m4 = await Member.start(lock, c.nodeDir(4), 4);
      await m4.libp2p.handle(FETCH_PROTOCOL, (stream) => void serveAnswer(stream).catch(() => undefined));
      await m4.dial(1);
      peer4 = await waitFor("member 4 connected to node 1", async () => {
        const p = n1.dht.byIndex(4);
        return p?.connected && p;
      });
    });

    after(async () => {
      for (const m of others) await m.stop().catch(() => undefined);
      await m4?.stop().catch(() => undefined);
      await n1?.stop();
      await c?.cleanup();
    });

    it("refuses a chunk over its kind's size cap (probe: 64 KiB)", async () => {
      const big = await m4.chunk("probe", SLOT, 500, Buffer.alloc(65 * 1024));
      const a = await m4.channel(1).push(big);
      assert.deepEqual(a, {status: "refused", limiter: "size", reason: "payload_too_large"});
    });

    // Before the byte budget test, which spends member 4's budget. The node's clock stands at SLOT, so chunks
    // a hundred slots back exist without waiting for a chain to be that old.
    it("each limiter refuses with its own reason under its condition, and counts it", async () => {
      const ch = m4.channel(1);
      const refused = (limiter: string, reason: string) => counterValue(n1.metrics.chunksRefused, {limiter, reason});
      let seq = 300;
      // Objective: OBJECTIVE_RECENT_SLOTS slots back is history (fetched, never pushed); one slot newer is not.
      assert.deepEqual(
        await ch.push(await m4.chunk("probe", SLOT - OBJECTIVE_RECENT_SLOTS, seq++, Buffer.from("old"))),
        {
          status: "refused",
          limiter: "objective",
          reason: "too_old",
        },
      );
      assert.equal(await refused("objective", "too_old"), 1);
      // W-tracking: an origin's allowance of block views for a slot, then the next one is refused; the next
      // slot has its own. (The epoch allowance binds on 32-slot epochs only, beyond what is current here.)
      for (let i = 0; i < W_SLOT_ALLOWANCE; i++) {
        const a = await ch.push(await m4.chunk("eth_block", SLOT, seq++, Buffer.from(`block ${i}`)));
        assert.equal(a.status, "accepted", `eth_block ${i + 1}: ${JSON.stringify(a)}`);
      }
      assert.deepEqual(await ch.push(await m4.chunk("eth_block", SLOT, seq++, Buffer.from("one too many"))), {
        status: "refused",
        limiter: "w_tracking",
        reason: "slot_allowance_spent",
      });
      assert.equal(await refused("w_tracking", "slot_allowance_spent"), 1);
      assert.equal(
        (await ch.push(await m4.chunk("eth_block", SLOT - 1, seq++, Buffer.from("next")))).status,
        "accepted",
      );
      // Topology: with one store peer, node 1 may be eclipsed and takes only the current duty's chunks...
      const notCurrent = SLOT - OBJECTIVE_CURRENT_SLOTS;
      assert.deepEqual(await ch.push(await m4.chunk("probe", notCurrent, seq++, Buffer.from("a"))), {
        status: "refused",
        limiter: "topology",
        reason: "too_few_peers",
      });
      assert.equal((await ch.push(await m4.chunk("probe", SLOT, seq++, Buffer.from("now")))).status, "accepted");
      // ...and with TOPOLOGY_MIN_PEERS connected it takes older ones again.
      for (const i of [2, 3]) {
        const m = await Member.start(lock, c.nodeDir(i), i);
        others.push(m);
        await m.dial(1);
      }
      await waitFor(
        `node 1 connected to ${TOPOLOGY_MIN_PEERS} peers`,
        async () => n1.dht.connected().length >= TOPOLOGY_MIN_PEERS,
      );
      assert.equal((await ch.push(await m4.chunk("probe", notCurrent, seq++, Buffer.from("b")))).status, "accepted");
      assert.equal(await refused("topology", "too_few_peers"), 1);
    });

    it("budgets bytes per peer: 60 KiB chunks are refused byte_rate_limited long before the chunk budget is spent", async () => {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < 120; i++) chunks.push(await m4.chunk("probe", SLOT, 1 + i, Buffer.alloc(60 * 1024, i & 255)));
      const t0 = Date.now();
      const r = await m4.flood(1, chunks, 1e6, () => false, 10_000);
      const secs = (Date.now() - t0) / 1000;
      const accepted = r.answers.accepted ?? 0;
      const allowed = Math.ceil((PEER_BYTE_BURST + PEER_BYTES_PER_SEC * secs) / (60 * 1024));
      assert.ok(
        accepted <= allowed,
        `${accepted} of 120 chunks of 60 KiB accepted in ${secs.toFixed(1)} s; the byte budget allows ${allowed} (${JSON.stringify(r.answers)})`,
      );
      assert.ok(accepted > 0, "the budget let nothing through");
      assert.ok(
        (await counterValue(n1.metrics.chunksRefused, {limiter: "rate", reason: "byte_rate_limited"})) > 0,
        "no byte_rate_limited refusal counted",
      );
    });

    it("fetch: answers pass admission (signature, future slot, size cap) and only admitted chunks are stored", async () => {
      const good = await m4.chunk("probe", 995, 600, Buffer.from("good"));
      const future = await m4.chunk("probe", SLOT + 5, 601, Buffer.from("from the future"));
      const oversized = await m4.chunk("probe", 996, 602, Buffer.alloc(65 * 1024));
      const forged = encodeChunk({
        kind: "probe",
        slot: 997,
        origin: 2,
        seq: 603,
        t: Date.now(),
        payload: Buffer.from("forged"),
        sig: new Uint8Array(64),
      });
      answer = {chunks: [good, future, oversized, forged]};
      const added = await n1.store.fetchFrom(peer4, {fromSlot: 990, toSlot: SLOT + 10, durableOnly: true});
      assert.equal(added, 1);
      assert.ok(n1.series.hasChunk(chunkId(good)));
      for (const [name, bad] of Object.entries({future, oversized, forged}))
        assert.equal(n1.series.hasChunk(chunkId(bad)), false, `${name} chunk was stored`);
    });

    it("fetch: a chunk outside the requested slot range ends the fetch with FETCH_OUT_OF_RANGE and is not stored", async () => {
      const inside = await m4.chunk("probe", 950, 700, Buffer.from("inside"));
      const outside = await m4.chunk("probe", 800, 701, Buffer.from("outside"));
      answer = {chunks: [inside, outside]};
      await assert.rejects(
        n1.store.fetchFrom(peer4, {fromSlot: 940, toSlot: 960, durableOnly: true}),
        (e: unknown) => (e as {code?: string}).code === "FETCH_OUT_OF_RANGE",
      );
      assert.equal(n1.series.hasChunk(chunkId(outside)), false);
    });

    it("fetch: a chunk of a kind not asked for, or not durable in a durable-only fetch, ends the fetch and is not stored", async () => {
      const asked = await m4.chunk("probe", 953, 720, Buffer.from("durable, asked"));
      const notDurable = await m4.chunk("qbft", 953, 721, Buffer.from("a consensus step"));
      answer = {chunks: [asked, notDurable]};
      await assert.rejects(
        n1.store.fetchFrom(peer4, {fromSlot: 950, toSlot: 960, durableOnly: true}),
        (e: unknown) => (e as {code?: string}).code === "FETCH_OUT_OF_RANGE" && /not durable/.test(String(e)),
      );
      assert.equal(n1.series.hasChunk(chunkId(notDurable)), false);
      const otherKind = await m4.chunk("probe", 954, 722, Buffer.from("a probe, partial_sig asked"));
      answer = {chunks: [otherKind]};
      await assert.rejects(
        n1.store.fetchFrom(peer4, {fromSlot: 950, toSlot: 960, kind: "partial_sig"}),
        (e: unknown) => (e as {code?: string}).code === "FETCH_OUT_OF_RANGE" && /asked partial_sig/.test(String(e)),
      );
      assert.equal(n1.series.hasChunk(chunkId(otherKind)), false);
    });

    it("fetch: an answer with a chunk that was not asked by id ends the fetch", async () => {
      const asked = await m4.chunk("probe", 951, 710, Buffer.from("asked"));
      const other = await m4.chunk("probe", 951, 711, Buffer.from("not asked"));
      answer = {chunks: [asked, other]};
      await assert.rejects(n1.store.fetchFrom(peer4, {ids: [toHex(chunkId(asked))]}), (e: unknown) =>
        ["FETCH_OUT_OF_RANGE", "FETCH_TOO_MANY_CHUNKS"].includes((e as {code?: string}).code ?? ""),
      );
      assert.equal(n1.series.hasChunk(chunkId(other)), false);
    });

    it("fetch: more chunks than the cap in one answer ends the fetch with FETCH_TOO_MANY_CHUNKS", async () => {
      const junk = encodeChunk({
        kind: "probe",
        slot: 952,
        origin: 4,
        seq: 1,
        t: 1,
        payload: new Uint8Array(0),
        sig: new Uint8Array(64),
      });
      answer = {chunks: Array.from({length: FETCH_CAP + 1}, () => junk)};
      await assert.rejects(
        n1.store.fetchFrom(peer4, {fromSlot: 950, toSlot: 960}),
        (e: unknown) => (e as {code?: string}).code === "FETCH_TOO_MANY_CHUNKS",
      );
    });

    it("fetch: a peer that stops answering is cut off at the deadline with FETCH_DEADLINE", async () => {
      answer = {chunks: [await m4.chunk("probe", 953, 720, Buffer.from("then nothing"))], stall: true};
      const fetching = n1.store.fetchFrom(peer4, {fromSlot: 950, toSlot: 960});
      // The test's own bound, far past the node's 1.5 s deadline: without a deadline the fetch never ends.
      const gaveUp = new Promise((_, reject) =>
        setTimeout(() => reject(new Error("fetch still running after 10 s")), 10_000).unref(),
      );
      await assert.rejects(
        Promise.race([fetching, gaveUp]),
        (e: unknown) => (e as {code?: string}).code === "FETCH_DEADLINE",
      );
    });
  },
);
