import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {loadLock} from "../../../src/cluster/lock.js";
import {MAX_STREAM_WINDOW_BYTES} from "../../../src/roles/dht/dhtRole.js";
import {PEER_BYTE_BURST, PEER_BYTES_PER_SEC} from "../../../src/roles/store/peerBudget.js";
import {type TestCluster, makeCluster, waitFor} from "../../helpers/cluster.js";
import {Member} from "../../helpers/member.js";
import {type StoreNode, counterValue, startStoreNode} from "../../helpers/storeNode.js";

const SLOT = 1000;
const FLOOD_CHUNK = 60 * 1024;
/** The byte flood: 1 MiB chunks at 50/s, 25 times the byte budget, for 3 s. */
const BIG_CHUNK = (1 << 20) - 64;
const BIG_RATE = 50;
const BIG_FLOOD_MS = 3000;

/**
 * Three real nodes (libp2p, series, store role) in this process and a fourth member that floods node 1 with
 * large current-slot chunks and chunks from far in the future, while node 2 keeps publishing its current duty.
 */
describe("a member flooding one node with bytes", {timeout: 120_000}, () => {
  let c: TestCluster;
  const nodes: StoreNode[] = [];
  let m4: Member;

  before(async () => {
    c = await makeCluster(4);
    const lock = await loadLock(c.lock);
    for (const i of [1, 2, 3]) nodes.push(await startStoreNode(c, lock, i, {currentSlot: () => SLOT}));
    m4 = await Member.start(lock, c.nodeDir(4), 4);
    await m4.dial(1);
    await waitFor(
      "node 1 sees nodes 2, 3 and member 4",
      async () => (nodes[0] as StoreNode).dht.connected().length === 3,
    );
  });

  after(async () => {
    await m4?.stop().catch(() => undefined);
    for (const n of nodes) await n.stop();
    await c?.cleanup();
  });

  it("the others' current-duty chunks are all admitted; the flooder gets its byte budget and no future slot", async () => {
    const [n1, n2] = nodes as [StoreNode, StoreNode];
    const flood: Uint8Array[] = [];
    for (let i = 0; i < 900; i++) {
      flood.push(await m4.chunk("probe", SLOT, 1 + i, Buffer.alloc(FLOOD_CHUNK, i & 255)));
      if (i % 3 === 0) flood.push(await m4.chunk("probe", SLOT + 50 + i, 10_000 + i, Buffer.from("from the future")));
    }
    let stop = false;
    const t0 = Date.now();
    const flooding = m4.flood(1, flood, 100, () => stop, 10_000);
    const answers: string[] = [];
    // Node 2's duty: 15 chunks, 50 ms apart, all while the flood runs (everything shares this one process, so
    // the round trips say little; that every chunk is admitted is the point).
    for (let i = 0; i < 15; i++) {
      const r = await n2.store.publish("probe", Buffer.from(`duty ${i}`), SLOT);
      const a = r.answers.find((x) => x.peer === 1);
      answers.push(a?.status === "accepted" ? "accepted" : `${a?.status}:${a?.limiter}:${a?.reason}:${a?.error}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    stop = true;
    const f = await flooding;
    const secs = (Date.now() - t0) / 1000;
    assert.ok(f.sent < flood.length, "the flood ended before node 2's duty chunks did");
    assert.deepEqual(
      answers.filter((a) => a !== "accepted"),
      [],
      "an honest current-duty chunk was not admitted",
    );
    const allowed = PEER_BYTE_BURST + PEER_BYTES_PER_SEC * secs;
    const floodBytes = (f.answers.accepted ?? 0) * FLOOD_CHUNK;
    assert.ok(
      floodBytes <= allowed,
      `node 1 admitted ${floodBytes} bytes from the flooder in ${secs.toFixed(1)} s, budget ${allowed} (${JSON.stringify(f.answers)})`,
    );
    assert.ok(
      (f.answers["refused:rate"] ?? 0) > 0,
      `the flooder was never refused by its budget: ${JSON.stringify(f.answers)}`,
    );
    assert.equal((await counterValue(n1.metrics.chunksAccepted, {})) >= answers.length, true);
    assert.ok(
      (await counterValue(n1.metrics.chunksRefused, {reason: "future_slot"})) > 0,
      "no chunk refused future_slot",
    );
  });

  it("keeps a byte flood on the flooder's side: node 1 reads its budget and one stream window per pause, not the flood", async () => {
    const n1 = nodes[0] as StoreNode;
    const big: Uint8Array[] = [];
    for (let k = 0; k < 20; k++) big.push(await m4.chunk("probe", SLOT, 100_000 + k, Buffer.alloc(BIG_CHUNK, k)));
    const read = () => counterValue(n1.metrics.pushBytesRead, {peer: "4"});
    const pauses = () => counterValue(n1.metrics.pushPauses, {peer: "4"});
    const [read0, pauses0] = [await read(), await pauses()];
    let stop = false;
    const t0 = Date.now();
    const flooding = m4.flood(
      1,
      Array.from({length: 1000}, (_, k) => big[k % big.length] as Uint8Array),
      BIG_RATE,
      () => stop,
      0,
    );
    await new Promise((r) => setTimeout(r, BIG_FLOOD_MS));
    const secs = (Date.now() - t0) / 1000;
    const [bytes, paused] = [(await read()) - read0, (await pauses()) - pauses0];
    stop = true;
    const f = await flooding;
    const offered = f.sent * BIG_CHUNK;
    const bound = PEER_BYTE_BURST + PEER_BYTES_PER_SEC * secs + (paused + 1) * MAX_STREAM_WINDOW_BYTES;
    const mib = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;
    assert.ok(paused > 0, "node 1 never paused the flooder's stream");
    assert.ok(
      bytes <= bound,
      `node 1 read ${mib(bytes)} in ${secs.toFixed(1)} s, more than its budget and ${paused} windows (${mib(bound)})`,
    );
    assert.ok(
      bytes < offered / 2,
      `node 1 read ${mib(bytes)} of the ${mib(offered)} the flooder wrote: flow control held nothing back`,
    );
  });
});
