import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {instanceSlot} from "../../../../src/roles/validator/schedule/dutyClock.js";
import type {ClusterTransport} from "../../../../src/roles/validator/clusterTransport.js";
import {decodeSignedQbft, encodeSignedQbft} from "../../../../src/roles/validator/consensus/codec.js";
import {QbftDriver} from "../../../../src/roles/validator/consensus/driver.js";
import {InstanceIdError, instanceId, parseInstanceId} from "../../../../src/roles/validator/consensus/instanceId.js";
import type {QbftMessage, SignedQbft} from "../../../../src/roles/validator/consensus/types.js";
import {fakeCrypto} from "./sim.js";

const signed = (instance: string, sender = 2): SignedQbft => {
  const msg: QbftMessage = {
    instance,
    type: "PREPARE",
    round: 1,
    sender,
    valueHash: new Uint8Array(32),
    value: null,
    preparedRound: 0,
  };
  return {msg, sig: fakeCrypto(sender).sign(msg), justification: []};
};

/** Ids a peer could send for slot 100 (or nonsense) that r3dv never writes. */
const NON_CANONICAL: [string, string][] = [
  ["attester/000100", "slot not canonical"],
  ["attester/0100", "slot not canonical"],
  ["attester/+100", "slot not canonical"],
  ["attester/-100", "slot not canonical"],
  ["attester/ 100", "slot not canonical"],
  ["attester/100 ", "slot not canonical"],
  ["attester/1e2", "slot not canonical"],
  ["attester/0x64", "slot not canonical"],
  ["attester/１００", "slot not canonical"],
  ["attester/", "slot not canonical"],
  ["attester/9007199254740993", "slot beyond 2^53"],
  ["voter/100", "unknown duty"],
  ["Attester/100", "unknown duty"],
  ["attester/100/1", "not <duty>/<slot>"],
  ["attester100", "not <duty>/<slot>"],
];

describe("QBFT instance ids are canonical", () => {
  it("accepts exactly what instanceId writes", () => {
    for (const [duty, slot] of [
      ["attester", 0],
      ["proposer", 100],
      ["sync_contribution", Number.MAX_SAFE_INTEGER],
    ] as const) {
      assert.deepEqual(parseInstanceId(instanceId(duty, slot)), {duty, slot});
      assert.equal(decodeSignedQbft(encodeSignedQbft(signed(instanceId(duty, slot)))).msg.instance, `${duty}/${slot}`);
    }
  });

  it("decoding refuses a non-canonical id with a typed error naming the reason", () => {
    for (const [id, reason] of NON_CANONICAL) {
      assert.throws(
        () => decodeSignedQbft(encodeSignedQbft(signed(id))),
        (e) =>
          e instanceof InstanceIdError &&
          e.code === "QBFT_INSTANCE_ID_NONCANONICAL" &&
          e.type.reason === reason &&
          e.type.instance === id,
        id,
      );
    }
  });

  it("a duty service does not take attester/000100 for attester/100", () => {
    assert.equal(instanceSlot("attester", "attester/100", 100), 100);
    for (const [id] of NON_CANONICAL) assert.equal(instanceSlot("attester", id, 100), undefined, id);
  });

  it("the driver refuses a peer's message for attester/000100 (reported, no instance made) and runs attester/100", () => {
    let deliver!: (origin: number, slot: number, payload: Uint8Array) => void;
    const transport: ClusterTransport = {
      self: 1,
      publish: () => undefined,
      subscribe: (_kind, h) => ((deliver = h), () => undefined),
    };
    const asked: string[] = [];
    const rejected: {instance: string; reason: string}[] = [];
    const driver = new QbftDriver(
      transport,
      {crypto: fakeCrypto(1), n: 4, self: 1},
      (id) => {
        asked.push(id);
        const slot = instanceSlot("attester", id, 100);
        return slot === undefined
          ? undefined
          : {slot, leader: () => 1, roundDeadline: (r) => Date.now() + 60_000 * r, isValid: () => true};
      },
      undefined,
      {onRejected: (instance, _from, reason) => rejected.push({instance, reason})},
    );
    try {
      deliver(2, 100, encodeSignedQbft(signed("attester/000100")));
      assert.deepEqual(asked, []);
      assert.equal(rejected.length, 1);
      assert.match(rejected[0]!.reason, /consensus instance id refused \(slot not canonical\)/);
      deliver(2, 100, encodeSignedQbft(signed("attester/100")));
      assert.deepEqual(asked, ["attester/100"]);
      assert.deepEqual(driver.heardFrom("attester/100"), [2]);
    } finally {
      driver.stop();
    }
  });
});
