import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {after, before, describe, it} from "node:test";
import type {ValidatorRole} from "../../../../src/roles/validator/validatorRole.js";
import {type AnyDutyResult} from "../../../../src/roles/validator/validatorRole.js";
import {BlsPool} from "../../../../src/workers/blsPool.js";
import {tempDir} from "../../../helpers/cli.js";
import {MemoryHub, corruptingPartials} from "../../../helpers/memoryTransport.js";
import {type RunningDevnet, sleep, spawnDevnet} from "../../../devnet/helpers.js";
import {createTestCluster, startValidatorRoles} from "../../../helpers/validatorRoles.js";

const SLOT_MS = 2000;

/**
 * Failed duties must say why, naming the nodes at fault: two of four nodes silent make "no_quorum" with
 * both named; a node whose partials do not verify, with the fourth node away, makes "invalid_partial" naming
 * it. Real duty services, BLS pool and devnet; the in-process hub stands in for the store role's network.
 */
describe("duty outcomes name the nodes at fault", {timeout: 300_000}, () => {
  let dir: string;
  let devnet: RunningDevnet;
  const pool = new BlsPool({size: 1});
  const hub = new MemoryHub();
  const roles: ValidatorRole[] = [];
  const results: (AnyDutyResult & {node: number})[] = [];
  let corrupt = false;

  const slotStart = (slot: number) => devnet.genesisTime * 1000 + slot * SLOT_MS;
  const until = (ms: number) => sleep(Math.max(0, ms - Date.now()));
  const attesterResults = (node: number, slot: number) =>
    results.filter((r) => r.node === node && r.duty === "attester" && r.slot === slot);

  before(async () => {
    dir = await tempDir();
    const {lock} = await createTestCluster(dir, {start: 0, count: 64});
    devnet = await spawnDevnet([
      "--validators",
      "64",
      "--own",
      "none",
      "--slot-ms",
      String(SLOT_MS),
      "--genesis-delay",
      "8",
      "--log-level",
      "warn",
    ]);
    roles.push(
      ...(await startValidatorRoles({
        lock,
        dir,
        beaconUrls: [devnet.url],
        pool,
        hub,
        onResult: (r) => results.push(r),
        node: (i) => (i === 3 ? {transport: corruptingPartials(hub.transport(i), () => corrupt)} : {}),
      })),
    );
  });

  after(async () => {
    await Promise.all(roles.map((r) => r.stop()));
    await pool.close();
    await devnet?.stop();
    await rm(dir, {recursive: true, force: true});
  });

  it("two of four nodes silent for a slot: no_quorum naming both, then duties succeed again", async () => {
    const silent = 10;
    await until(slotStart(silent));
    hub.down.add(3).add(4);
    // The duty's consensus deadline is two slots later; keep them away until it passed.
    await until(slotStart(silent + 2) + 300);
    hub.down.clear();
    await until(slotStart(silent + 5));
    for (const node of [1, 2]) {
      const failed = attesterResults(node, silent);
      assert.ok(failed.length > 0, `node ${node} reported its slot ${silent} attestations`);
      for (const r of failed) {
        assert.equal(r.status, "failed", JSON.stringify(r));
        assert.equal(r.reason, "no_quorum", JSON.stringify(r));
        assert.deepEqual(r.missing, [3, 4], JSON.stringify(r));
        assert.match(r.detail ?? "", /3, 4/);
      }
      const later = attesterResults(node, silent + 3);
      assert.ok(
        later.length > 0 && later.every((r) => r.status === "submitted"),
        `slot ${silent + 3} after the return: ${JSON.stringify(later.slice(0, 2))}`,
      );
    }
  });

  it("a node sending invalid partials while a fourth is away: invalid_partial naming it", async () => {
    const bad = 18;
    await until(slotStart(bad));
    hub.down.add(4);
    corrupt = true;
    await until(slotStart(bad + 2) + 300);
    hub.down.clear();
    corrupt = false;
    // The attester gives up on a signature when its duty expires, two slots after the slot.
    await until(slotStart(bad + 4));
    for (const node of [1, 2]) {
      const failed = attesterResults(node, bad);
      assert.ok(failed.length > 0, `node ${node} reported its slot ${bad} attestations`);
      for (const r of failed) {
        assert.equal(r.reason, "invalid_partial", JSON.stringify(r));
        assert.deepEqual(r.invalidPartials, [3], JSON.stringify(r));
      }
    }
  });
});
