import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {after, before, describe, it} from "node:test";
import type {ValidatorRole} from "../../../../src/roles/validator/validatorRole.js";
import {type AnyDutyResult} from "../../../../src/roles/validator/validatorRole.js";
import {BlsPool} from "../../../../src/workers/blsPool.js";
import {tempDir} from "../../../helpers/cli.js";
import {FaultyProxy, type ProxyMode} from "../../../helpers/faultyProxy.js";
import {type RunningDevnet, spawnDevnet} from "../../../devnet/helpers.js";
import {createTestCluster, startValidatorRoles} from "../../../helpers/validatorRoles.js";

const SLOT_MS = 2000;

/**
 * Every node's beacon node goes bad, one way after another (times out, answers 500, answers garbage, says
 * it is syncing), each for two slots, then recovers. Duties in those slots fail with a clean reason, nothing
 * crashes, and duties succeed again once the beacon node answers.
 */
describe("duties when the beacon node fails and recovers", {timeout: 600_000}, () => {
  let dir: string;
  let devnet: RunningDevnet;
  let proxy: FaultyProxy;
  const pool = new BlsPool({size: 1});
  const roles: ValidatorRole[] = [];
  const results: AnyDutyResult[] = [];
  const faultWindows: {mode: ProxyMode; from: number; to: number}[] = [];

  before(async () => {
    dir = await tempDir();
    const {lock} = await createTestCluster(dir, {start: 0, count: 16});
    // The devnet signs for nobody; with its beacon API broken for all our nodes, slots go empty, then resume.
    devnet = await spawnDevnet([
      "--validators",
      "16",
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
    await proxy.start();
    roles.push(
      ...(await startValidatorRoles({lock, dir, beaconUrls: [proxy.url], pool, onResult: (r) => results.push(r)})),
    );
  });

  after(async () => {
    await Promise.all(roles.map((r) => r.stop()));
    await pool.close();
    await proxy?.stop();
    await devnet?.stop();
    await rm(dir, {recursive: true, force: true});
  });

  it("fails the duties of each faulty window with a reason and recovers after it", async () => {
    const slotStart = (s: number) => devnet.genesisTime * 1000 + s * SLOT_MS;
    const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));
    let slot = 4;
    for (const mode of ["timeout", "error500", "garbage", "syncing"] as ProxyMode[]) {
      await sleepUntil(slotStart(slot));
      proxy.mode = mode;
      faultWindows.push({mode, from: slot, to: slot + 1});
      await sleepUntil(slotStart(slot + 2));
      proxy.mode = "pass";
      slot += 4;
    }
    // Two more healthy slots after the last fault, then the duties of the whole run are over.
    await sleepUntil(slotStart(slot + 2));
    for (const w of faultWindows) {
      const inWindow = results.filter((r) => r.duty === "attester" && r.slot >= w.from && r.slot <= w.to);
      const bySlot = results.filter((r) => r.duty === "attester").map((r) => `${r.slot}:${r.status}:${r.reason ?? ""}`);
      assert.ok(
        inWindow.length > 0,
        `${w.mode}: duties in slots ${w.from}-${w.to}; all: ${[...new Set(bySlot)].join(" ")}`,
      );
      assert.ok(
        inWindow.every(
          (r) => r.status === "failed" && r.reason === "beacon_unavailable" && (r.detail ?? "").length > 0,
        ),
        `${w.mode}: ${JSON.stringify(inWindow.slice(0, 2))}`,
      );
      // A whole healthy slot after the window (the one before the next window opens), every attestation is submitted.
      const afterwards = results.filter((r) => r.duty === "attester" && r.slot === w.to + 2);
      const notSubmitted = afterwards.filter((r) => r.status !== "submitted");
      assert.ok(
        afterwards.length > 0 && notSubmitted.length === 0,
        `${w.mode}: after the window ${afterwards.length} attester results, not submitted: ${JSON.stringify(notSubmitted.slice(0, 3))}`,
      );
    }
  });
});
