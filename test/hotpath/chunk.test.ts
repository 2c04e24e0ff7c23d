import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {generateKeyPair} from "@libp2p/crypto/keys";
import {type Chunk, ChunkError, chunkId, decodeChunk, encodeChunk, signingBytes} from "../../src/hotpath/chunk.js";

const lockHash = new Uint8Array(32).fill(7);

async function signed(
  over: Partial<Chunk> = {},
): Promise<{chunk: Chunk; key: Awaited<ReturnType<typeof generateKeyPair>>}> {
  const key = await generateKeyPair("Ed25519");
  const base = {
    kind: "eth_block" as const,
    slot: 123456,
    origin: 2,
    seq: 9,
    t: 1_700_000_000_000,
    payload: new Uint8Array([1, 2, 3]),
    ...over,
  };
  const sig = await key.sign(signingBytes(base, lockHash));
  return {chunk: {...base, sig}, key};
}

describe("chunk encoding", () => {
  it("round-trips every field and the signature verifies against the origin key", async () => {
    const {chunk, key} = await signed();
    const bytes = encodeChunk(chunk);
    assert.equal(bytes.length, 31 + 3 + 1 + 64);
    const back = decodeChunk(bytes);
    assert.deepEqual(
      {...back, payload: [...back.payload], sig: [...back.sig]},
      {...chunk, payload: [...chunk.payload], sig: [...chunk.sig]},
    );
    assert.equal(await key.publicKey.verify(signingBytes(back, lockHash), back.sig), true);
  });

  it("a changed field, another cluster's lock hash or another key fails verification", async () => {
    const {chunk, key} = await signed();
    const other = await generateKeyPair("Ed25519");
    assert.equal(
      await key.publicKey.verify(signingBytes({...chunk, slot: chunk.slot + 1}, lockHash), chunk.sig),
      false,
    );
    assert.equal(await key.publicKey.verify(signingBytes(chunk, new Uint8Array(32)), chunk.sig), false);
    assert.equal(await other.publicKey.verify(signingBytes(chunk, lockHash), chunk.sig), false);
  });

  it("the id is deterministic and differs for different chunks", async () => {
    const {chunk} = await signed();
    assert.deepEqual(chunkId(encodeChunk(chunk)), chunkId(encodeChunk({...chunk})));
    assert.notDeepEqual(chunkId(encodeChunk(chunk)), chunkId(encodeChunk({...chunk, seq: 10})));
  });

  it("refuses truncated, trailing, unknown-kind and out-of-range input with a typed error", async () => {
    const bytes = encodeChunk((await signed()).chunk);
    assert.throws(
      () => decodeChunk(bytes.subarray(0, 20)),
      (e: unknown) => e instanceof ChunkError && e.code === "CHUNK_TRUNCATED",
    );
    assert.throws(
      () => decodeChunk(Buffer.concat([bytes, Buffer.from([0])])),
      (e: unknown) => e instanceof ChunkError && e.code === "CHUNK_TRAILING_BYTES",
    );
    const badKind = Buffer.from(bytes);
    badKind[1] = 200;
    assert.throws(
      () => decodeChunk(badKind),
      (e: unknown) => e instanceof ChunkError && e.code === "CHUNK_BAD_KIND",
    );
    const big = {...(await signed()).chunk, origin: 256};
    assert.throws(
      () => encodeChunk(big),
      (e: unknown) => e instanceof ChunkError && e.code === "CHUNK_BAD_FIELD",
    );
  });
});

describe("ed25519 verifier", () => {
  it("agrees with libp2p's verify on good and bad signatures", async () => {
    const {ed25519Verifier} = await import("../../src/hotpath/ed25519.js");
    const {chunk, key} = await signed();
    const v = ed25519Verifier(key.publicKey.raw);
    const msg = signingBytes(chunk, lockHash);
    assert.equal(v(msg, chunk.sig), true);
    assert.equal(v(signingBytes({...chunk, seq: 1}, lockHash), chunk.sig), false);
    assert.equal(v(msg, chunk.sig.subarray(0, 63)), false);
  });
});
