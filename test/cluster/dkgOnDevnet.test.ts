import "../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {buildDefinition} from "../../src/cluster/definition.js";
import {runDkg} from "../../src/cluster/dkg/runDkg.js";
import {createIdentityFile} from "../../src/cluster/identity.js";
import {loadLock} from "../../src/cluster/lock.js";
import type {ValidatorRole} from "../../src/roles/validator/validatorRole.js";
import {type AnyDutyResult} from "../../src/roles/validator/validatorRole.js";
import {createLogger} from "../../src/util/logger.js";
import {BlsPool} from "../../src/workers/blsPool.js";
import {type Effectiveness, type RunningDevnet, getJson, spawnDevnet} from "../devnet/helpers.js";
import {tempDir} from "../helpers/cli.js";
import {startValidatorRoles} from "../helpers/validatorRoles.js";

const SLOT_MS = 2000;
/** The devnet's own interop validators: the chain runs on them whatever the cluster does. */
const INTEROP = 16;
const DKG_VALIDATORS = 8;

/**
 * Issue 15's first test: four operators make their identities, a definition and a DKG for 8 validators (over
 * libp2p on loopback), their deposits join the devnet at genesis (`devnet-beacon --deposits`), and the cluster
 * runs them: every attestation of the DKG's validators included on target.
 */
describe("a cluster made by r3dv dkg, on the devnet", {timeout: 600_000}, () => {
  let dir: string;
  let devnet: RunningDevnet | undefined;
  const pool = new BlsPool({size: 1});
  const roles: ValidatorRole[] = [];
  const results: AnyDutyResult[] = [];

  before(async () => (dir = await tempDir()));
  after(async () => {
    await Promise.all(roles.map((r) => r.stop()));
    await pool.close();
    await devnet?.stop();
    await rm(dir, {recursive: true, force: true});
  });

  it("runs the DKG's validators: every attestation of epochs 1 and 2 included on target", async () => {
    const nodeDirs = [1, 2, 3, 4].map((i) => join(dir, `op${i}`));
    const ids = await Promise.all(nodeDirs.map((d) => createIdentityFile(d)));
    const base = 35_000 + Math.floor(Math.random() * 4000);
    const {definition} = buildDefinition({
      operators: ids.map((id, k) => `${id.peerId}@127.0.0.1:${base + k}`),
      validators: DKG_VALIDATORS,
      network: "devnet",
      withdrawalAddress: "0x" + "ab".repeat(20),
    });
    const logger = createLogger("error", "dkg");
    await Promise.all(nodeDirs.map((nodeDir) => runDkg({definition, nodeDir, kdf: "pbkdf2", logger})));
    const lock = await loadLock(join(nodeDirs[0] as string, "cluster-lock.json"));

    const d = await spawnDevnet([
      ...["--validators", String(INTEROP), "--own", `0..${INTEROP - 1}`, "--slot-ms", String(SLOT_MS)],
      ...[
        "--deposits",
        join(nodeDirs[0] as string, "deposit-data.json"),
        "--genesis-delay",
        "8",
        "--log-level",
        "warn",
      ],
    ]);
    devnet = d;
    roles.push(
      ...(await startValidatorRoles({
        lock,
        dir,
        nodeDirs,
        beaconUrls: [d.url],
        pool,
        onResult: (r) => results.push(r),
      })),
    );
    const until = d.genesisTime * 1000 + 4 * SLOTS_PER_EPOCH * SLOT_MS + 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));
    const {body} = await getJson<Effectiveness>(`${d.url}/r3dv/v1/effectiveness?from_epoch=1&to_epoch=2`);
    const ours = body.data.epochs.flatMap((e) => e.validators.filter((v) => v.index >= INTEROP));
    assert.equal(ours.length, 2 * DKG_VALIDATORS, "the DKG's validators are on chain, active from genesis");
    const good = ours.filter((v) => v.included && v.correct_target).length;
    const failed = results.filter((r) => r.status === "failed").slice(0, 3);
    assert.ok(good >= ours.length * 0.99, `${good} of ${ours.length} on target; failed ${JSON.stringify(failed)}`);
    assert.ok(
      results.some((r) => r.duty === "attester" && r.status === "submitted"),
      "the cluster's own duty results say it",
    );
  });
});
