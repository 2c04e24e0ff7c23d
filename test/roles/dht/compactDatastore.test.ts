import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {Key} from "interface-datastore";
import {CompactDatastore} from "../../../src/roles/dht/compactDatastore.js";

describe("CompactDatastore (libp2p's records)", () => {
  it("keeps a value in a buffer of its own, not the pool slab or frame it was cut from", async () => {
    const ds = new CompactDatastore();
    const frame = new Uint8Array(65_536).fill(7);
    const value = frame.subarray(100, 108);
    await ds.put(new Key("/dht/provider/x"), value);
    const kept = await ds.get(new Key("/dht/provider/x"));
    assert.deepEqual([...kept], [...value]);
    assert.equal(kept.buffer.byteLength, 8, "the 64 KiB buffer is not held by the record");
  });
});
