import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {BitArray} from "@chainsafe/ssz";
import {ssz} from "@lodestar/types";
import {attesters} from "../../../../src/roles/validator/tracking/inclusionChecker.js";

const committees = new Map([
  [0, [10, 11, 12]],
  [1, [20, 21]],
  [2, [30, 31, 32, 33]],
]);

describe("reading who an included attestation covers", () => {
  it("phase0: the committee is data.index and bits follow its members", () => {
    const att = ssz.phase0.Attestation.defaultValue();
    att.data.index = 2;
    att.aggregationBits = BitArray.fromBoolArray([false, true, false, true]);
    assert.deepEqual(attesters(att, committees, false), [31, 33]);
  });

  it("Electra: committee bits pick the committees and aggregation bits run across them in ascending order", () => {
    const att = ssz.electra.Attestation.defaultValue();
    att.committeeBits = BitArray.fromBoolArray([true, false, true, false]);
    // Committee 0's three members, then committee 2's four: committee 1 is not covered.
    att.aggregationBits = BitArray.fromBoolArray([false, false, true, true, false, false, true]);
    assert.deepEqual(attesters(att, committees, true), [12, 30, 33]);
  });

  it("bits after a committee of unknown length are not guessed at", () => {
    const att = ssz.electra.Attestation.defaultValue();
    att.committeeBits = BitArray.fromBoolArray([true, true, true, false]);
    att.aggregationBits = BitArray.fromBoolArray([true, false, false, true, true, true, true, true, true]);
    assert.deepEqual(
      attesters(
        att,
        new Map([
          [0, [10, 11, 12]],
          [2, [30, 31, 32, 33]],
        ]),
        true,
      ),
      [10],
    );
  });
});
