import assert from "node:assert/strict";
import {setTimeout as sleep} from "node:timers/promises";
import {after, before, describe, it} from "node:test";
import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {initHerumi} from "../../../../src/hotpath/herumi.js";
import {toHex} from "../../../../src/hotpath/bytes.js";
import {
  DoppelgangerGuard,
  type DoppelgangerOptions,
  type DoppelgangerStatus,
} from "../../../../src/roles/validator/signing/doppelganger.js";
import {SlotClock} from "../../../../src/roles/validator/schedule/slotClock.js";
import {exchangeFailure} from "../../../../src/roles/validator/tracking/outcome.js";
import {createLogger} from "../../../../src/util/logger.js";
import {TestSigners} from "../../../helpers/testSigner.js";
import {thresholdValidator} from "../../../helpers/thresholdValidator.js";

/** 100 ms slots: an epoch of the guard's looks in under a second (minimal preset) or three (mainnet). */
const SLOT_MS = 100;
const A = `0x${"a".repeat(96)}`;
const B = `0x${"b".repeat(96)}`;
const INDEX: Record<string, number> = {[A]: 7, [B]: 8};

interface Fake {
  guard: DoppelgangerGuard;
  changes: DoppelgangerStatus[];
  livenessAsked: number[];
}

/**
 * A guard over a clock whose genesis was `startEpoch` epochs and a slot ago (so the start is in that epoch's
 * second slot), a beacon node answering `live` (or failing while `failLiveness` says so), and the cluster's
 * own signatures `signed` (what the series would hold).
 */
function guardAt(
  startEpoch: number,
  o: {
    live?: (epoch: number, index: number) => boolean;
    /** Each validator the cluster signed for in from..to, with the members that did. */
    signed?: (from: number, to: number) => [string, number[]][];
    failLiveness?: () => boolean;
    failIndices?: () => boolean;
    enabled?: boolean;
    signsFromEpoch?: number;
  } = {},
): Fake {
  const genesisMs = Date.now() - (startEpoch * SLOTS_PER_EPOCH + 1) * SLOT_MS - 10;
  const clock = SlotClock.fromSpec(genesisMs / 1000, {SLOT_DURATION_MS: String(SLOT_MS)});
  const changes: DoppelgangerStatus[] = [];
  const livenessAsked: number[] = [];
  const opts: DoppelgangerOptions = {
    pubkeys: [A, B],
    enabled: o.enabled ?? true,
    self: 1,
    threshold: 3,
    clock,
    validatorIndices: async (pubkeys) => {
      if (o.failIndices?.()) throw new Error("beacon node unreachable");
      return new Map(pubkeys.map((p) => [p, INDEX[p] as number]));
    },
    liveness: async (epoch, indices) => {
      livenessAsked.push(epoch);
      if (o.failLiveness?.()) throw new Error("HTTP 404: route not found");
      return new Map(indices.map((i) => [i, o.live?.(epoch, i) ?? false]));
    },
    clusterSigned: (from, to) => new Map((o.signed?.(from, to) ?? []).map(([p, members]) => [p, new Set(members)])),
    logger: createLogger("error", "test"),
    onChange: (s) => changes.push(s),
    ...(o.signsFromEpoch === undefined ? {} : {signsFromEpoch: o.signsFromEpoch}),
  };
  const guard = new DoppelgangerGuard(opts);
  guard.start();
  return {guard, changes, livenessAsked};
}

/** Waits until the start epoch (and the one before) have been read: a little past the epoch's last slot. */
async function untilChecked(f: Fake, states: string[]): Promise<void> {
  const end = Date.now() + 3 * SLOTS_PER_EPOCH * SLOT_MS;
  while (Date.now() < end) {
    if (f.guard.statuses().every((s, k) => s.state === states[k])) return;
    await sleep(SLOT_MS / 2);
  }
  assert.fail(`states ${JSON.stringify(f.guard.statuses().map((s) => s.state))}, expected ${JSON.stringify(states)}`);
}

describe("doppelganger protection", () => {
  const stops: DoppelgangerGuard[] = [];
  const track = (f: Fake) => (stops.push(f.guard), f);
  after(() => stops.forEach((g) => g.stop()));

  it("lets every validator sign at once when started in the genesis epoch", () => {
    const f = track(guardAt(0));
    assert.deepEqual(
      f.guard.statuses().map((s) => s.state),
      ["safe", "safe"],
    );
    assert.equal(f.guard.refusal(A), undefined);
    assert.match(f.changes[0]?.detail ?? "", /genesis epoch/);
    assert.deepEqual(f.livenessAsked, []);
  });

  it("a reshared lock started before its switch epoch takes the liveness it sees for the old lock's: no epoch to check", () => {
    // Both validators live (the old cluster attests); the new lock signs from epoch 5, the node starts in epoch 3.
    const f = track(guardAt(3, {live: () => true, signsFromEpoch: 5}));
    assert.deepEqual(
      f.guard.statuses().map((s) => s.state),
      ["safe", "safe"],
    );
    assert.match(f.changes[0]?.detail ?? "", /before this lock's switch epoch 5 the lock it reshared signs/);
    assert.deepEqual(f.livenessAsked, []);
  });

  it("a reshared lock started in its switch epoch checks that epoch only: the old lock's liveness before it is expected", async () => {
    const f = track(guardAt(3, {live: (epoch) => epoch === 2, signsFromEpoch: 3}));
    await untilChecked(f, ["safe", "safe"]);
    assert.deepEqual([...new Set(f.livenessAsked)], [3]);
  });

  it("refuses a validator live elsewhere, for good, and lets the one not live sign after the start's epoch", async () => {
    const f = track(guardAt(3, {live: (epoch, index) => index === 7 && epoch === 3}));
    // Until the epoch is read, neither signs, and the refusal says what is happening and how to skip it.
    assert.match(f.guard.refusal(A) ?? "", /checking that no one else signs/);
    assert.match(f.guard.refusal(B) ?? "", /checking/);
    await untilChecked(f, ["live_elsewhere", "safe"]);
    assert.match(
      f.guard.refusal(A) ?? "",
      /validator 7 was live in epoch 3 and this cluster signed nothing for it then: another signer holds its key/,
    );
    assert.equal(f.guard.refusal(B), undefined);
    assert.deepEqual(
      f.guard.statuses().map((s) => [s.index, s.state, s.liveEpoch]),
      [
        [7, "live_elsewhere", 3],
        [8, "safe", undefined],
      ],
    );
    // The epoch before the start and the start's own, each read once its last slot came.
    assert.deepEqual([...new Set(f.livenessAsked)].sort(), [2, 3]);
    assert.deepEqual(f.guard.counts(), {checking: 0, safe: 1, live_elsewhere: 1, off: 0});
    assert.deepEqual(
      f.guard.notSigning(10).map((v) => v.index),
      [7],
    );
    assert.deepEqual(f.guard.notSigning(0), []);
    assert.deepEqual(
      f.changes.map((c) => [c.index, c.state]),
      [
        [7, "live_elsewhere"],
        [8, "safe"],
      ],
    );
  });

  it("a node restarted in a running cluster signs at its first look: the cluster's own signatures explain the liveness", async () => {
    const f = track(
      guardAt(5, {
        live: () => true,
        // The series holds partials of the epoch before the start, as a restarted node's does: A's from two other
        // members (with this node, a threshold), B's from this node itself before its stop.
        signed: (from, to) =>
          from <= 4 * SLOTS_PER_EPOCH && to >= 4 * SLOTS_PER_EPOCH
            ? [
                [A, [2, 4]],
                [B, [1]],
              ]
            : [],
      }),
    );
    await untilChecked(f, ["safe", "safe"]);
    assert.deepEqual(f.livenessAsked, [], "no epoch to wait for");
    assert.match(f.changes[0]?.detail ?? "", /the cluster's own signatures/);
  });

  it("one other member's partials are not the cluster's: a validator only it signs for is live elsewhere", async () => {
    const f = track(guardAt(3, {live: () => true, signed: () => [[A, [2]]]}));
    await untilChecked(f, ["live_elsewhere", "live_elsewhere"]);
  });

  it("clears a validator found live elsewhere when the cluster's signatures arrive late (a restart's catch-up)", async () => {
    let caughtUp = false;
    const f = track(guardAt(3, {live: () => true, signed: () => (caughtUp ? [[B, [2, 3]]] : [])}));
    await untilChecked(f, ["live_elsewhere", "live_elsewhere"]);
    caughtUp = true;
    await untilChecked(f, ["live_elsewhere", "safe"]);
    assert.equal(f.guard.refusal(B), undefined);
  });

  it("keeps checking while the beacon node cannot say, naming the way out, then decides when it answers", async () => {
    let failing = true;
    const f = track(guardAt(2, {failLiveness: () => failing}));
    const end = Date.now() + 3 * SLOTS_PER_EPOCH * SLOT_MS;
    while (!/did not answer/.test(f.guard.refusal(A) ?? "") && Date.now() < end) await sleep(SLOT_MS / 2);
    assert.match(
      f.guard.refusal(A) ?? "",
      /the beacon node did not answer \/eth\/v1\/validator\/liveness\/\d+ \(HTTP 404: route not found\).*--doppelganger off/,
    );
    failing = false;
    await untilChecked(f, ["safe", "safe"]);
  });

  it("counts no epoch as clean while the beacon node cannot give the validators' indices", async () => {
    let failing = true;
    const f = track(guardAt(2, {failIndices: () => failing, live: (_epoch, index) => index === 7}));
    // Past the start's epoch: had the epoch counted as clean without asking, both would be safe by now.
    await sleep(SLOTS_PER_EPOCH * SLOT_MS);
    assert.deepEqual(
      f.guard.statuses().map((s) => s.state),
      ["checking", "checking"],
    );
    assert.deepEqual(f.livenessAsked, []);
    failing = false;
    await untilChecked(f, ["live_elsewhere", "safe"]);
  });

  it("is off with --doppelganger off: nothing refused, nothing asked", () => {
    const f = track(guardAt(4, {enabled: false, live: () => true}));
    assert.deepEqual(f.guard.counts(), {checking: 0, safe: 0, live_elsewhere: 0, off: 2});
    assert.equal(f.guard.refusal(A), undefined);
  });
});

describe("the Signer behind doppelganger protection", () => {
  let signers: TestSigners;
  before(async () => {
    await initHerumi();
    signers = await TestSigners.create();
  });
  after(() => signers.close());

  it("refuses every message of a gated validator with its reason, and a duty's result names it", async () => {
    const v = thresholdValidator(3, 4);
    const pubkey = toHex(v.pubkey);
    const share = {pubkey, sharePubkeys: v.sharePubkeys, secret: v.shares[0] as Uint8Array};
    let reason: string | undefined = "doppelganger protection: checking";
    const signer = signers.signer([share], () => reason);
    const [refused] = await signer.signAll([{pubkey, message: v.message}]);
    assert.ok(refused && !refused.ok);
    assert.equal(refused.error.type.code, "DOPPELGANGER");
    const outcome = exchangeFailure(4, refused.error, "attestation");
    assert.equal(outcome.reason, "doppelganger");
    assert.match(outcome.detail ?? "", /attestation: doppelganger protection: checking/);
    // Nothing was recorded as signed: once allowed, the same slashable message signs.
    reason = undefined;
    const slashable = {kind: "attestation" as const, sourceEpoch: 0, targetEpoch: 1};
    const [ok] = await signer.signAll([{pubkey, message: v.message, slashable}]);
    assert.ok(ok?.ok);
  });
});
