import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {SLOTS_PER_EPOCH} from "@lodestar/params";
import type {BeaconNode} from "../../../../../src/roles/validator/beacon/beaconNode.js";
import type {ProposerPreparation as Prepared} from "../../../../../src/roles/validator/beacon/types.js";
import {BeaconError} from "../../../../../src/roles/validator/beacon/errors.js";
import {
  type PreparationResult,
  ProposerPreparation,
} from "../../../../../src/roles/validator/duties/proposer/proposerPreparation.js";
import type {Logger} from "../../../../../src/util/logger.js";
import {SlotClock} from "../../../../../src/roles/validator/schedule/slotClock.js";

const SLOT_MS = 1000;
const A = "0xa1";
const B = "0xb2";
const FEE_A = "0x" + "aa".repeat(20);
const FEE_B = "0x" + "bb".repeat(20);

/** Lets the service's awaited beacon calls settle between two ticks of the mocked clock. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/**
 * A beacon node as the service sees it (a fake: this is the layer above the beacon client, whose own
 * wire format is tested against Lodestar's recorded answers). `onChain` holds the validators with an index.
 */
function fakeBeacon(onChain: Map<string, number>, refuse: () => BeaconError | undefined) {
  const lookups: string[][] = [];
  const told: {at: number; proposers: Prepared[]}[] = [];
  const beacon = {
    // The real clock, genesis at time 0: the tests' mocked Date.now() is the chain's time.
    clock: SlotClock.fromSpec(0, {SLOT_DURATION_MS: String(SLOT_MS)}),
    validatorIndices: async (pubkeys: string[]) => {
      lookups.push(pubkeys);
      return new Map(pubkeys.flatMap((p) => (onChain.has(p) ? [[p, onChain.get(p) as number] as const] : [])));
    },
    prepareBeaconProposer: async (proposers: Prepared[]) => {
      const e = refuse();
      if (e) throw e;
      told.push({at: Date.now(), proposers});
    },
  } as unknown as BeaconNode;
  return {beacon, lookups, told};
}

function recordingLogger(): Logger & {warnings: string[]} {
  const warnings: string[] = [];
  const nop = () => undefined;
  return {
    warnings,
    debug: nop,
    info: nop,
    error: nop,
    warn: (m: string) => void warnings.push(m),
    child: () => recordingLogger(),
  } as unknown as Logger & {warnings: string[]};
}

describe("proposer preparation (the lock's fee recipients told to the beacon nodes)", () => {
  it("tells the beacon node at start and at every epoch start, adding a validator once it has an index", async (t) => {
    t.mock.timers.enable({apis: ["setTimeout", "Date"], now: 3 * SLOT_MS});
    const onChain = new Map([[A, 7]]);
    const {beacon, lookups, told} = fakeBeacon(onChain, () => undefined);
    const results: PreparationResult[] = [];
    const p = new ProposerPreparation({
      beacon,
      feeRecipients: new Map([
        [A, FEE_A],
        [B, FEE_B],
      ]),
      logger: recordingLogger(),
      onResult: (r) => results.push(r),
    });
    p.start();
    await settle();
    assert.deepEqual(
      told.map((x) => x.proposers),
      [[{validatorIndex: 7, feeRecipient: FEE_A}]],
      "at start, the validator with an index",
    );
    onChain.set(B, 9);
    for (const epoch of [1, 2]) {
      t.mock.timers.tick(epoch * SLOTS_PER_EPOCH * SLOT_MS - Date.now());
      await settle();
    }
    p.stop();
    assert.deepEqual(
      told.map((x) => x.at),
      [3, SLOTS_PER_EPOCH, 2 * SLOTS_PER_EPOCH].map((s) => s * SLOT_MS),
      "at start, then at each epoch's first slot",
    );
    assert.deepEqual(told[1]?.proposers, [
      {validatorIndex: 7, feeRecipient: FEE_A},
      {validatorIndex: 9, feeRecipient: FEE_B},
    ]);
    assert.deepEqual(lookups, [[A, B], [B]], "an index once known is not looked up again");
    assert.deepEqual(
      results.map((r) => [r.epoch, r.result, r.validators]),
      [
        [0, "ok", 1],
        [1, "ok", 2],
        [2, "ok", 2],
      ],
    );
  });

  it("reports a node without the route as unsupported and any other refusal as failed, with a warning each epoch", async (t) => {
    t.mock.timers.enable({apis: ["setTimeout", "Date"], now: 0});
    const refusal = (status: number) =>
      new BeaconError(
        {code: "BEACON_REFUSED", url: "bn", route: "/eth/v1/validator/prepare_beacon_proposer", status, reason: "x"},
        `HTTP ${status}`,
      );
    let status = 404;
    const {beacon} = fakeBeacon(new Map([[A, 7]]), () => refusal(status));
    const results: PreparationResult[] = [];
    const logger = recordingLogger();
    const p = new ProposerPreparation({
      beacon,
      feeRecipients: new Map([[A, FEE_A]]),
      logger,
      onResult: (r) => results.push(r),
    });
    p.start();
    await settle();
    status = 400;
    t.mock.timers.tick(SLOTS_PER_EPOCH * SLOT_MS);
    await settle();
    p.stop();
    assert.deepEqual(
      results.map((r) => [r.epoch, r.result]),
      [
        [0, "unsupported"],
        [1, "failed"],
      ],
    );
    assert.match(results[1]?.detail ?? "", /HTTP 400/);
    assert.equal(logger.warnings.length, 2);
  });
});
