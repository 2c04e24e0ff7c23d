import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {after, before, describe, it} from "node:test";
import {UNKNOWN_VALIDATOR} from "../../../../src/roles/validator/tracking/dutyFetchFailures.js";
import type {AnyDutyResult, ValidatorRole} from "../../../../src/roles/validator/validatorRole.js";
import {BlsPool} from "../../../../src/workers/blsPool.js";
import {tempDir} from "../../../helpers/cli.js";
import {startValidatorRoles, createTestCluster} from "../../../helpers/validatorRoles.js";
import {FaultyProxy} from "../../../helpers/faultyProxy.js";
import {type RunningDevnet, sleep, spawnDevnet} from "../../../devnet/helpers.js";

const SLOT_MS = 2000;
/** The minimal preset's epoch. */
const EPOCH = 8;
const VALIDATORS = 16;
const NODES = 4;
/** Switching the fault this long before a slot starts lands it before that slot's duty fetch. */
const BEFORE_SLOT_MS = 400;

/** The attester and proposer duty routes of the given epochs (POST .../attester/E, GET .../proposer/E). */
const dutyRoutesOf = (epochs: string) => new RegExp(`^/eth/v1/validator/duties/(attester|proposer)/(${epochs})(\\?|$)`);

/**
 * The beacon node answers everything but the attester and proposer duties of epochs 2 and 3, which fail with
 * HTTP 500: epoch 2's until two slots into it (fetched late: the duties of its first two slots are known
 * then, and only theirs failed), epoch 3's for good (never fetched). Every duty of those slots must end in
 * exactly one `duty_fetch_failed` result, as the services define it for duties that could not be known.
 * All 16 validators are the cluster's, so every slot has one of its proposers.
 */
describe("duties whose duty fetch failed", {timeout: 600_000}, () => {
  let dir: string;
  let devnet: RunningDevnet;
  let proxy: FaultyProxy;
  const pool = new BlsPool({size: 1});
  const roles: ValidatorRole[] = [];
  const results: (AnyDutyResult & {node: number})[] = [];

  before(async () => {
    dir = await tempDir();
    const {lock} = await createTestCluster(dir, {start: 0, count: VALIDATORS});
    devnet = await spawnDevnet([
      "--validators",
      String(VALIDATORS),
      "--own",
      "none",
      "--slot-ms",
      String(SLOT_MS),
      "--genesis-delay",
      "6",
      "--log-level",
      "warn",
    ]);
    proxy = new FaultyProxy(devnet.url);
    proxy.faultOnly = dutyRoutesOf("2|3");
    proxy.mode = "error500";
    await proxy.start();
    roles.push(
      ...(await startValidatorRoles({
        lock,
        dir,
        nodes: NODES,
        beaconUrls: [proxy.url],
        pool,
        onResult: (r) => results.push(r),
      })),
    );
  });

  after(async () => {
    await Promise.all(roles.map((r) => r.stop()));
    await pool.close();
    await proxy?.stop();
    await devnet?.stop();
    await rm(dir, {recursive: true, force: true});
  });

  const slotStart = (s: number) => devnet.genesisTime * 1000 + s * SLOT_MS;
  const until = (ms: number) => sleep(Math.max(0, ms - Date.now()));
  const of = (node: number, duty: string, from: number, to: number) =>
    results.filter((r) => r.node === node && r.duty === duty && r.slot >= from && r.slot <= to);
  const show = (rs: AnyDutyResult[]) =>
    rs.map((r) => `${r.slot}/v${r.validatorIndex}:${r.status}:${r.reason ?? ""}`).join(" ");

  it("ends every duty of the blind slots in exactly one duty_fetch_failed result", async () => {
    await until(slotStart(2 * EPOCH + 2) - BEFORE_SLOT_MS);
    proxy.faultOnly = dutyRoutesOf("3");
    // Epochs never fetched are reported two slots after they end.
    await until(slotStart(4 * EPOCH + 3));

    for (let node = 1; node <= NODES; node++) {
      // Epoch 2, fetched at slot 18: each validator's one duty has one result, and those of slots 16-17 failed exactly there.
      const epoch2 = of(node, "attester", 2 * EPOCH, 3 * EPOCH - 1);
      assert.equal(
        new Set(epoch2.map((r) => r.validatorIndex)).size,
        VALIDATORS,
        `node ${node} epoch 2: ${show(epoch2)}`,
      );
      assert.equal(epoch2.length, VALIDATORS, `node ${node}: one result per duty in epoch 2: ${show(epoch2)}`);
      const blind2 = epoch2.filter((r) => r.reason === "duty_fetch_failed");
      assert.ok(blind2.length > 0, `node ${node}: duties fell in slots 16-17: ${show(epoch2)}`);
      assert.deepEqual(
        epoch2.filter((r) => r.slot < 2 * EPOCH + 2),
        blind2,
        `node ${node}: exactly the duties of the blind slots: ${show(epoch2)}`,
      );
      assert.ok(
        blind2.every((r) => r.status === "failed" && r.window === undefined && /epoch 2/.test(r.detail ?? "")),
        show(blind2),
      );

      // Epoch 3, never fetched: one result per validator, at the first blind slot, with the window of its epoch.
      const epoch3 = of(node, "attester", 3 * EPOCH, 4 * EPOCH - 1);
      assert.equal(epoch3.length, VALIDATORS, `node ${node} epoch 3: ${show(epoch3)}`);
      assert.equal(new Set(epoch3.map((r) => r.validatorIndex)).size, VALIDATORS);
      assert.ok(
        epoch3.every(
          (r) =>
            r.reason === "duty_fetch_failed" &&
            r.slot === 3 * EPOCH &&
            r.window?.from === 3 * EPOCH &&
            r.window.to === 4 * EPOCH - 1,
        ),
        show(epoch3),
      );

      // Proposals: epoch 3, never known: one epoch-wide result; epoch 2's first two slots: the cluster's proposer of each.
      const proposals = of(node, "proposer", 2 * EPOCH, 4 * EPOCH - 1).filter((r) => r.reason === "duty_fetch_failed");
      const epochWide = proposals.filter((r) => r.validatorIndex === UNKNOWN_VALIDATOR);
      assert.deepEqual(
        epochWide.map((r) => [r.slot, r.window?.from, r.window?.to]),
        [[3 * EPOCH, 3 * EPOCH, 4 * EPOCH - 1]],
        show(proposals),
      );
      assert.equal(of(node, "proposer", 3 * EPOCH, 4 * EPOCH - 1).length, 1, "nothing else for the blind epoch");
      const exact = proposals.filter((r) => r.validatorIndex !== UNKNOWN_VALIDATOR);
      assert.deepEqual(
        exact.map((r) => r.slot),
        [2 * EPOCH, 2 * EPOCH + 1],
        show(proposals),
      );
      assert.equal(of(node, "proposer", 2 * EPOCH, 2 * EPOCH + 1).length, 2, "no other result for those slots");
    }
  });
});
