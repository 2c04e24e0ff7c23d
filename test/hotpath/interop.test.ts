import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {interopSecretKey as lodestarInteropSecretKey} from "@lodestar/state-transition";
import {toHex} from "../../src/hotpath/bytes.js";
import {interopSecretKey} from "../../src/hotpath/interop.js";
import {secretToPublicKey} from "../../src/hotpath/threshold.js";

/** The consensus specs' mocked-start interop public keys of validators 0..3. */
const KNOWN_INTEROP_PUBKEYS = [
  "0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c",
  "0xb89bebc699769726a318c8e9971bd3171297c61aea4a6578a7a4f94b547dcba5bac16a89108b6b6a1fe3695d1a874a0b",
  "0xa3a32b0f8b4ddb83f1a0a853d81dd725dfe577d4f4c3db8ece52ce2b026eca84815c1a7e8e92a4de3d755733bf7e4a9b",
  "0x88c141df77cd9d8d7a71a75c826c41a9c9f03c6ee1b180f3e7852f6a280099ded351b58d66e653af8e42816a4d8f532e",
];

describe("interop keys", () => {
  it("validators 0..3 have the known interop public keys", () => {
    KNOWN_INTEROP_PUBKEYS.forEach((pk, i) =>
      assert.equal(toHex(secretToPublicKey(interopSecretKey(i))), pk, `validator ${i}`),
    );
    assert.ok(toHex(secretToPublicKey(interopSecretKey(0))).startsWith("0xa99a76ed"));
  });

  it("equals Lodestar's interopSecretKey for the first 64 indices and a large one", () => {
    for (const i of [...Array.from({length: 64}, (_, k) => k), 1_000_000]) {
      assert.equal(toHex(interopSecretKey(i)), toHex(lodestarInteropSecretKey(i).toBytes()), `index ${i}`);
    }
  });

  it("refuses a negative or fractional index", () => {
    assert.throws(() => interopSecretKey(-1), /non-negative integer/);
    assert.throws(() => interopSecretKey(1.5), /non-negative integer/);
  });
});
