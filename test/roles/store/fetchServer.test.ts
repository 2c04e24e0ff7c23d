import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {describe, it} from "node:test";
import {type ChunkKind, encodeChunk, readChunkHeader} from "../../../src/hotpath/chunk.js";
import {
  CATCHUP_MAX_SLOTS,
  FetchError,
  lookUp,
  parseFetchRequest,
  requestedRange,
} from "../../../src/roles/store/fetchServer.js";
import {Series} from "../../../src/storage/series.js";
import {tempDir} from "../../helpers/cli.js";

const bytes = (x: unknown) => Buffer.from(typeof x === "string" ? x : JSON.stringify(x));

describe("fetch requests", () => {
  it("refuses malformed requests with FETCH_BAD_REQUEST", () => {
    for (const bad of [
      "not json",
      {fromSlot: -1},
      {kind: "nonsense"},
      {durableOnly: "yes"},
      {ids: ["0x12"]},
      {fromSlot: 1, extra: true},
    ]) {
      assert.throws(
        () => parseFetchRequest(bytes(bad)),
        (e: unknown) => e instanceof FetchError && e.code === "FETCH_BAD_REQUEST",
        JSON.stringify(bad),
      );
    }
  });

  it("clamps the slot range to CATCHUP_MAX_SLOTS from its start", () => {
    const req = parseFetchRequest(bytes({fromSlot: 10, toSlot: 1_000_000, durableOnly: true}));
    assert.deepEqual(requestedRange(req), {from: 10, to: 10 + CATCHUP_MAX_SLOTS});
    assert.equal(req.durableOnly, true);
  });

  it("answers a range with only the kinds asked for: durable ones when durable-only, one kind when a kind is named", async () => {
    const dir = await tempDir();
    const series = await Series.open({dir, lockHash: "0x" + "ab".repeat(32), operator: 1, budgetBytes: 1e9});
    try {
      const kinds: ChunkKind[] = ["qbft", "probe", "partial_sig", "qbft"];
      let seq = 0;
      for (const slot of [10, 11]) {
        for (const kind of kinds) {
          const chunk = encodeChunk({
            kind,
            slot,
            origin: 2,
            seq: ++seq,
            t: 1,
            payload: Buffer.from(kind),
            sig: new Uint8Array(64),
          });
          await series.appendChunk("chunk_accepted", 2, chunk, "committed");
        }
      }
      const served = (req: Parameters<typeof lookUp>[1]) =>
        [...lookUp(series, req)].map((c) => `${readChunkHeader(c).slot}:${readChunkHeader(c).kind}`).sort();
      assert.deepEqual(served({fromSlot: 10, toSlot: 11, durableOnly: true}), [
        "10:partial_sig",
        "10:probe",
        "11:partial_sig",
        "11:probe",
      ]);
      assert.deepEqual(served({fromSlot: 11, toSlot: 11, kind: "qbft"}), ["11:qbft", "11:qbft"]);
      assert.deepEqual(served({fromSlot: 10, toSlot: 10, kind: "qbft", durableOnly: true}), []);
      assert.equal(served({fromSlot: 10, toSlot: 11}).length, 8);
    } finally {
      await series.close();
      await rm(dir, {recursive: true, force: true});
    }
  });
});
