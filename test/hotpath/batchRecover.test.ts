import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {before, describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import {recoverAndVerifyMany} from "../../src/hotpath/batchRecover.js";
import {herumi, initHerumi} from "../../src/hotpath/herumi.js";
import {sign, verifySignature} from "../../src/hotpath/threshold.js";
import {thresholdValidator} from "../helpers/thresholdValidator.js";

before(() => initHerumi());

/** BLS12-381's group order: sign(r - k, m) is -sign(k, m). */
const R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

const validator = (message: Uint8Array) => thresholdValidator(3, 4, message);

function addPoints(a: Uint8Array, b: Uint8Array): Uint8Array {
  const bls = herumi();
  const x = new bls.Signature();
  const y = new bls.Signature();
  x.deserialize(a);
  y.deserialize(b);
  x.add(y);
  return x.serialize();
}

function okSignature(o: ReturnType<typeof recoverAndVerifyMany>[number]): Uint8Array {
  assert.ok("result" in o && o.result.ok, JSON.stringify(o));
  return o.result.signature;
}

describe("recoverAndVerifyMany", () => {
  it("recovers every signature of two messages and each verifies alone", () => {
    const m1 = randomBytes(32);
    const m2 = randomBytes(32);
    const items = [validator(m1), validator(m1), validator(m2), validator(m1), validator(m2)];
    const out = recoverAndVerifyMany(items);
    assert.equal(out.length, items.length);
    out.forEach((o, i) => assert.ok(verifySignature(items[i]!.pubkey, items[i]!.message, okSignature(o)), `item ${i}`));
  });

  it("names the node whose partial is wrong and still signs for the others", () => {
    const m = randomBytes(32);
    const items = [validator(m), validator(m), validator(m)];
    // Node 2 sends validator 1's partial signed with validator 0's share: a valid point, the wrong key.
    items[1]!.partials[1] = {shareIndex: 2, signature: sign(items[0]!.shares[1]!, m)};
    const out = recoverAndVerifyMany(items);
    const named = out[1]!;
    assert.ok("result" in named && named.result.ok);
    assert.deepEqual(named.result.badShares, [2]);
    assert.deepEqual(named.result.usedShares, [1, 3, 4]);
    for (const i of [0, 2]) assert.ok(verifySignature(items[i]!.pubkey, m, okSignature(out[i]!)));
  });

  it("is not fooled by two wrong partials that cancel out in a plain sum", () => {
    const m = randomBytes(32);
    const items = [validator(m), validator(m), validator(m)];
    const k = SecretKey.fromKeygen(randomBytes(32)).toBytes();
    const minusK = Buffer.from(
      ((R - BigInt("0x" + Buffer.from(k).toString("hex"))) % R).toString(16).padStart(64, "0"),
      "hex",
    );
    // Node 3 shifts validator 0's partial by D and validator 1's by -D: the sum of all recovered signatures is unchanged.
    items[0]!.partials[2] = {shareIndex: 3, signature: addPoints(items[0]!.partials[2]!.signature, sign(k, m))};
    items[1]!.partials[2] = {shareIndex: 3, signature: addPoints(items[1]!.partials[2]!.signature, sign(minusK, m))};
    const out = recoverAndVerifyMany(items);
    for (const i of [0, 1]) {
      const o = out[i]!;
      assert.ok("result" in o && o.result.ok, `item ${i}`);
      assert.ok(verifySignature(items[i]!.pubkey, m, o.result.signature));
    }
    // The first item goes one by one and names node 3; the others are recovered without node 3's partials.
    const named = out[0]!;
    assert.ok("result" in named && named.result.ok);
    assert.deepEqual(named.result.badShares, [3]);
    for (const i of [1, 2]) {
      const o = out[i]!;
      assert.ok(
        "result" in o && o.result.ok && !o.result.usedShares.includes(3),
        `item ${i} used ${JSON.stringify(o)}`,
      );
    }
    assert.ok(verifySignature(items[2]!.pubkey, m, okSignature(out[2]!)));
  });

  it("recovers a batch a member lies in throughout with one item checked one by one, the rest without its partials", () => {
    const m = randomBytes(32);
    const items = Array.from({length: 8}, () => validator(m));
    // Node 2 signs every item's partial with the next validator's share: valid points, all wrong.
    items.forEach((it, k) => (it.partials[1] = {shareIndex: 2, signature: sign(items[(k + 1) % 8]!.shares[1]!, m)}));
    const out = recoverAndVerifyMany(items);
    out.forEach((o, i) => assert.ok(verifySignature(items[i]!.pubkey, m, okSignature(o)), `item ${i}`));
    const named = out.filter((o) => "result" in o && o.result.badShares.includes(2));
    assert.equal(named.length, 1, "node 2 named once, by the item checked one by one");
    for (const o of out)
      assert.ok("result" in o && o.result.ok && (o.result.badShares.includes(2) || !o.result.usedShares.includes(2)));
  });

  it("with no partial to spare, names the liar in every item and recovers none", () => {
    const m = randomBytes(32);
    const items = Array.from({length: 6}, () => validator(m));
    // Node 4 is away (three partials each, the threshold) and node 2 lies in every one.
    items.forEach((it, k) => {
      it.partials = it.partials.slice(0, 3);
      it.partials[1] = {shareIndex: 2, signature: sign(items[(k + 1) % 6]!.shares[1]!, m)};
    });
    for (const o of recoverAndVerifyMany(items)) {
      assert.ok("result" in o && !o.result.ok, JSON.stringify(o));
      assert.deepEqual(o.result.badShares, [2]);
    }
  });

  it("checks items that each sign their own message (a slot's aggregates) together, and names a wrong partial among them", () => {
    const items = Array.from({length: 6}, () => validator(randomBytes(32)));
    // Node 1 sends item 3's partial signed over item 2's message: a valid point, the wrong message.
    items[3]!.partials[0] = {shareIndex: 1, signature: sign(items[3]!.shares[0]!, items[2]!.message)};
    const out = recoverAndVerifyMany(items);
    const named = out[3]!;
    assert.ok("result" in named && named.result.ok, JSON.stringify(named));
    assert.deepEqual(named.result.badShares, [1]);
    out.forEach((o, i) => assert.ok(verifySignature(items[i]!.pubkey, items[i]!.message, okSignature(o)), `item ${i}`));
  });

  it("answers a malformed item with its own typed error and the rest with signatures", () => {
    const m = randomBytes(32);
    const items = [validator(m), validator(m)];
    const bad = {...items[0]!, partials: items[0]!.partials.slice(0, 2)};
    const out = recoverAndVerifyMany([bad, items[1]!]);
    const e = out[0]!;
    assert.ok("error" in e && e.error.type.code === "THRESHOLD_NOT_ENOUGH_PARTIALS", JSON.stringify(e));
    assert.ok(verifySignature(items[1]!.pubkey, m, okSignature(out[1]!)));
  });
});
