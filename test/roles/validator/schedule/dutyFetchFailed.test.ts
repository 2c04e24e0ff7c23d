import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {setTimeout as sleep} from "node:timers/promises";
import {describe, it} from "node:test";
import {SLOTS_PER_EPOCH as EPOCH} from "@lodestar/params";
import {UNKNOWN_VALIDATOR} from "../../../../src/roles/validator/tracking/dutyFetchFailures.js";
import type {AnyDutyResult} from "../../../../src/roles/validator/validatorRole.js";
import {DutyCluster} from "../../../helpers/dutyHarness/dutyCluster.js";
import type {Operation} from "../../../helpers/dutyHarness/memoryBeacon.js";

const VALIDATORS = 4;
/** Epoch 1's duties are never known; epoch 2's become known two slots into it. */
const NEVER = 1;
const LATE = 2;
/** The nodes fetch an epoch's duties at a slot's start: halfway through the slot before, the fault switches cleanly. */
const BEFORE_SLOT_MS = 500;
const DUTY_ROUTES: Operation[] = ["getAttesterDuties", "getProposerDuties"];

/** Every validator attests once per epoch (epoch 2: in its first four slots, so two of them fall blind). */
const ATTESTER_DUTIES = [
  ...Array.from({length: VALIDATORS}, (_, v) => ({slot: NEVER * EPOCH + 2 * v, validatorIndex: v})),
  ...Array.from({length: VALIDATORS}, (_, v) => ({slot: LATE * EPOCH + v, validatorIndex: v})),
  // Almost no member is an aggregator: the aggregation duty is not this test's.
].map((d) => ({...d, committeeLength: 2048}));
/** The cluster proposes in every slot of both epochs up to the first known one. */
const PROPOSER_SLOTS = Array.from({length: EPOCH + 4}, (_, i) => NEVER * EPOCH + i);

const epochIs =
  (...epochs: number[]) =>
  (request: unknown) =>
    epochs.includes((request as {epoch: number}).epoch);

/**
 * The beacon node answers everything but the attester and proposer duties of epochs 1 and 2, which fail with
 * HTTP 500: epoch 2's until two slots into it (fetched late: the duties of its first two slots are known then,
 * and only theirs failed), epoch 1's for good (never fetched). Every duty of those slots must end in exactly one
 * `duty_fetch_failed` result, as the services define it for duties that could not be known.
 */
describe("duties whose duty fetch failed", {timeout: 60_000}, () => {
  it("ends every duty of the blind slots in exactly one duty_fetch_failed result", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: VALIDATORS,
      script: (b) => {
        b.attesterDuties.push(...ATTESTER_DUTIES);
        for (const slot of PROPOSER_SLOTS) b.proposers.set(slot, slot % VALIDATORS);
        for (const op of DUTY_ROUTES) b.fault(op, {status: 500, when: epochIs(NEVER, LATE)});
      },
    });
    await sleep(Math.max(0, c.beacon.slotStartMs(LATE * EPOCH + 2) - BEFORE_SLOT_MS - Date.now()));
    for (const op of DUTY_ROUTES) c.beacon.fault(op, {status: 500, when: epochIs(NEVER)});

    const of = (node: number, duty: string, epoch: number) =>
      c.results.filter(
        (r) => r.node === node && r.duty === duty && r.slot >= epoch * EPOCH && r.slot < (epoch + 1) * EPOCH,
      );
    const show = (rs: AnyDutyResult[]) =>
      rs.map((r) => `${r.slot}/v${r.validatorIndex}:${r.status}:${r.reason ?? ""}`).join(" ");
    // Epochs never fetched are reported two slots after they end; epoch 2's last duties end within their slot.
    const last = LATE * EPOCH + VALIDATORS + 2;
    await c.until(
      "a result for every duty",
      () =>
        [1, 2, 3, 4].every(
          (n) =>
            of(n, "attester", NEVER).length >= VALIDATORS &&
            of(n, "attester", LATE).length >= VALIDATORS &&
            of(n, "proposer", NEVER).length >= 1 &&
            of(n, "proposer", LATE).length >= 4,
        ),
      last,
    );
    // A slot more for a second result of any duty to show up, which would be the bug.
    await sleep(Math.max(0, c.beacon.slotStartMs(last) - Date.now()));

    for (let node = 1; node <= 4; node++) {
      // Epoch 2, fetched at slot 18: each validator's one duty has one result, and those of slots 16-17 failed exactly there.
      const late = of(node, "attester", LATE);
      assert.equal(new Set(late.map((r) => r.validatorIndex)).size, VALIDATORS, `node ${node}: ${show(late)}`);
      assert.equal(late.length, VALIDATORS, `node ${node}: one result per duty in epoch ${LATE}: ${show(late)}`);
      const blind = late.filter((r) => r.reason === "duty_fetch_failed");
      assert.deepEqual(
        blind.map((r) => r.slot),
        [LATE * EPOCH, LATE * EPOCH + 1],
        `node ${node}: exactly the duties of the blind slots: ${show(late)}`,
      );
      assert.ok(
        blind.every((r) => r.status === "failed" && r.window === undefined && /epoch 2/.test(r.detail ?? "")),
        show(blind),
      );
      assert.ok(
        late.filter((r) => r.slot >= LATE * EPOCH + 2).every((r) => r.status === "submitted"),
        `node ${node}: the duties known in time were done: ${show(late)}`,
      );

      // Epoch 1, never fetched: one result per validator, at the first blind slot, with the window of its epoch.
      const never = of(node, "attester", NEVER);
      assert.equal(never.length, VALIDATORS, `node ${node} epoch ${NEVER}: ${show(never)}`);
      assert.equal(new Set(never.map((r) => r.validatorIndex)).size, VALIDATORS);
      assert.ok(
        never.every(
          (r) =>
            r.reason === "duty_fetch_failed" &&
            r.slot === NEVER * EPOCH &&
            r.window?.from === NEVER * EPOCH &&
            r.window.to === (NEVER + 1) * EPOCH - 1,
        ),
        show(never),
      );

      // Proposals: epoch 1, never known: one epoch-wide result and nothing else; epoch 2's first two slots: the
      // cluster's proposer of each, then its next two proposals made.
      assert.deepEqual(
        of(node, "proposer", NEVER).map((r) => [r.validatorIndex, r.reason, r.slot, r.window?.from, r.window?.to]),
        [[UNKNOWN_VALIDATOR, "duty_fetch_failed", NEVER * EPOCH, NEVER * EPOCH, (NEVER + 1) * EPOCH - 1]],
        show(of(node, "proposer", NEVER)),
      );
      const proposals = of(node, "proposer", LATE).sort((a, b) => a.slot - b.slot);
      assert.deepEqual(
        proposals.map((r) => [r.slot, r.validatorIndex, r.status, r.reason ?? ""]),
        [
          [LATE * EPOCH, 0, "failed", "duty_fetch_failed"],
          [LATE * EPOCH + 1, 1, "failed", "duty_fetch_failed"],
          [LATE * EPOCH + 2, 2, "submitted", ""],
          [LATE * EPOCH + 3, 3, "submitted", ""],
        ],
        `node ${node}: ${show(proposals)}`,
      );
    }
  });
});
