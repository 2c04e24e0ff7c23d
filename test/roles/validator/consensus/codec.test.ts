import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {generateIdentity} from "../../../../src/cluster/identity.js";
import {QbftCodecError, decodeSignedQbft, encodeSignedQbft} from "../../../../src/roles/validator/consensus/codec.js";
import {ed25519QbftCrypto} from "../../../../src/roles/validator/consensus/ed25519Crypto.js";
import type {QbftMessage, SignedQbft} from "../../../../src/roles/validator/consensus/types.js";

describe("QBFT wire codec and Ed25519 signatures", () => {
  it("round-trips a pre-prepare with its justification, and signatures verify after decoding", async () => {
    const ids = await Promise.all([1, 2, 3, 4].map(() => generateIdentity()));
    const cryptos = ids.map((id) =>
      ed25519QbftCrypto(
        id.privateKey,
        ids.map((x) => x.peerId),
      ),
    );
    const value = new Uint8Array([1, 2, 3, 4, 5]);
    const hash = cryptos[0]!.hash(value);
    const rc = (sender: number): SignedQbft => {
      const msg: QbftMessage = {
        instance: "attester/9",
        type: "ROUND_CHANGE",
        round: 2,
        sender,
        valueHash: null,
        value: null,
        preparedRound: 0,
      };
      return {msg, sig: cryptos[sender - 1]!.sign(msg), justification: []};
    };
    const pp: QbftMessage = {
      instance: "attester/9",
      type: "PRE_PREPARE",
      round: 2,
      sender: 3,
      valueHash: hash,
      value,
      preparedRound: 0,
    };
    const signed: SignedQbft = {msg: pp, sig: cryptos[2]!.sign(pp), justification: [rc(1), rc(2), rc(4)]};
    const decoded = decodeSignedQbft(encodeSignedQbft(signed));
    assert.deepEqual(decoded, signed);
    assert.ok(cryptos[0]!.verify(decoded.msg, decoded.sig));
    assert.ok(decoded.justification.every((j) => cryptos[1]!.verify(j.msg, j.sig)));
    // A signature made by node 3 does not pass as node 2's, and a changed round breaks it.
    assert.equal(cryptos[0]!.verify({...decoded.msg, sender: 2}, decoded.sig), false);
    assert.equal(cryptos[0]!.verify({...decoded.msg, round: 3}, decoded.sig), false);
  });

  it("refuses truncated, padded and nested-too-deep input with a typed error", () => {
    const msg: QbftMessage = {
      instance: "attester/1",
      type: "PREPARE",
      round: 1,
      sender: 1,
      valueHash: new Uint8Array(32),
      value: null,
      preparedRound: 0,
    };
    const inner: SignedQbft = {msg, sig: new Uint8Array(64), justification: []};
    const bytes = encodeSignedQbft(inner);
    const malformed = (b: Uint8Array) =>
      assert.throws(
        () => decodeSignedQbft(b),
        (e) => e instanceof QbftCodecError && e.code === "QBFT_MALFORMED",
      );
    malformed(bytes.subarray(0, bytes.length - 1));
    malformed(new Uint8Array([...bytes, 0]));
    malformed(new Uint8Array(3));
    const nested = encodeSignedQbft({...inner, justification: [{...inner, justification: [inner]}]});
    malformed(nested);
  });
});
