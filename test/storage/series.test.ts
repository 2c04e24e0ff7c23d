import assert from "node:assert/strict";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, describe, it} from "node:test";
import {chunkId, encodeChunk} from "../../src/hotpath/chunk.js";
import {verifyChain} from "../../src/storage/chainVerify.js";
import {Series, SeriesError} from "../../src/storage/series.js";
import {jsonBody} from "../../src/storage/entry.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, {recursive: true, force: true});
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "r3dv-series-"));
  dirs.push(d);
  return d;
}
const LOCK = "0x" + "ab".repeat(32);

function chunkBytes(slot: number, seq: number, kind: "eth_block" | "probe" = "probe", origin = 2): Uint8Array {
  return encodeChunk({
    kind,
    slot,
    origin,
    seq,
    t: 1,
    payload: new Uint8Array(100).fill(seq & 255),
    sig: new Uint8Array(64),
  });
}

describe("series", () => {
  it("appends, indexes chunks, verifies its chain and rebuilds the same views after reopening", async () => {
    const dir = await tmp();
    const s = await Series.open({dir, lockHash: LOCK, operator: 1, budgetBytes: 1e9, slotsPerEpoch: 8});
    const c = chunkBytes(17, 1, "eth_block");
    await s.appendChunk("chunk_accepted", 2, c, "flushed");
    for (let i = 0; i < 50; i++) void s.appendChunk("chunk_accepted", 3, chunkBytes(18, i + 2), "batched");
    await s.append("peer_event", jsonBody({peer: 2, event: "connected"}), "batched");
    await s.flush();
    assert.equal(s.views.accepted.eth_block, 1);
    assert.equal(s.views.accepted.probe, 50);
    assert.equal(s.views.ethBlocks.byOrigin["2"], 1);
    assert.equal(s.views.peers["2"]?.connected, true);
    assert.deepEqual(s.getChunk(chunkId(c)), c);
    assert.equal(s.chunksBySlot(18).length, 50);
    assert.equal(s.chunksBySlot(17, 0).length, 1);
    assert.equal(s.chunksBySlot(17, 5).length, 0);
    const report = verifyChain(s.rawEntries(), s.anchor());
    assert.equal(report.ok, true, report.error);
    assert.equal(report.entries, 53);
    const views = structuredClone(s.views);
    await s.close();
    const again = await Series.open({dir, lockHash: LOCK, operator: 1, budgetBytes: 1e9, slotsPerEpoch: 8});
    assert.deepEqual(again.views, views);
    await again.close();
  });

  it("refuses a data dir of another cluster or operator", async () => {
    const dir = await tmp();
    await (await Series.open({dir, lockHash: LOCK, operator: 1, budgetBytes: 1e9})).close();
    await assert.rejects(
      Series.open({dir, lockHash: "0x" + "cd".repeat(32), operator: 1, budgetBytes: 1e9}),
      (e: unknown) =>
        e instanceof SeriesError && e.code === "SERIES_OTHER_CLUSTER" && /belongs to cluster/.test(e.message),
    );
    await assert.rejects(
      Series.open({dir, lockHash: LOCK, operator: 2, budgetBytes: 1e9}),
      (e: unknown) => e instanceof SeriesError && e.code === "SERIES_OTHER_OPERATOR",
    );
  });

  it("detects an edited entry", async () => {
    const dir = await tmp();
    const s = await Series.open({dir, lockHash: LOCK, operator: 1, budgetBytes: 1e9});
    for (let i = 0; i < 5; i++) await s.appendChunk("chunk_accepted", 2, chunkBytes(1, i), "flushed");
    const rows = [...s.rawEntries()].map(({key, value}) => ({key: Buffer.from(key), value: Buffer.from(value)}));
    const row = rows[3] as {value: Buffer};
    row.value[60] = (row.value[60] as number) ^ 1;
    const report = verifyChain(rows);
    assert.equal(report.ok, false);
    assert.match(report.error ?? "", /entry 5: prevHash/);
    await s.close();
  });

  it("snapshots and compacts under the budget, recording what it removed, and the chain still verifies", async () => {
    const dir = await tmp();
    const s = await Series.open({dir, lockHash: LOCK, operator: 1, budgetBytes: 40_000});
    for (let i = 0; i < 200; i++) void s.appendChunk("chunk_accepted", 2, chunkBytes(i, i), "batched");
    await s.flush();
    const before = s.views.bytesStored;
    assert.ok(before > 40_000 * 0.6);
    const c = await s.compactIfNeeded();
    assert.ok(c && c.entries > 0);
    assert.ok(s.views.bytesStored <= 40_000 * 0.4 + 2000, `${s.views.bytesStored}`);
    assert.equal(s.getChunk(chunkId(chunkBytes(0, 0))), undefined);
    assert.ok(s.getChunk(chunkId(chunkBytes(199, 199))));
    const report = verifyChain(s.rawEntries(), s.anchor());
    assert.equal(report.ok, true, report.error);
    const views = structuredClone(s.views);
    await s.close();
    const again = await Series.open({dir, lockHash: LOCK, operator: 1, budgetBytes: 40_000});
    assert.deepEqual(again.views, views);
    await again.close();
  });
});
