import "../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {runReshare} from "../../src/cluster/dkg/runReshare.js";
import {createIdentityFile, loadIdentity} from "../../src/cluster/identity.js";
import {loadLock} from "../../src/cluster/lock.js";
import type {ClusterLock} from "../../src/cluster/lockSchema.js";
import {buildReshareDefinition} from "../../src/cluster/reshareDefinition.js";
import type {ValidatorRole} from "../../src/roles/validator/validatorRole.js";
import {type AnyDutyResult} from "../../src/roles/validator/validatorRole.js";
import {createLogger} from "../../src/util/logger.js";
import {BlsPool} from "../../src/workers/blsPool.js";
import {type Effectiveness, type RunningDevnet, getJson, spawnDevnet} from "../devnet/helpers.js";
import {tempDir} from "../helpers/cli.js";
import {MemoryHub} from "../helpers/memoryTransport.js";
import {createTestCluster, startValidatorRoles} from "../helpers/validatorRoles.js";

const SLOT_MS = 2000;
const VALIDATORS = 16;
/** The new lock signs from this epoch: the reshare (a few seconds) ends in epoch 0 or 1, well before it. */
const SWITCH_EPOCH = 2;

type Tagged = AnyDutyResult & {node: number};

/**
 * The rolling change the design promises: a running 3-of-4 cluster reshares its validators to five operators
 * (old operator 4 replaced, two new ones, threshold 4) while it keeps attesting; at the switch epoch the old nodes
 * stop signing and the new ones start, with no missed duty. The reshare runs over libp2p on loopback with the
 * real ceremony (runReshare); the validator roles are the real ones, on a spawned devnet.
 */
describe(
  "a reshare while the cluster runs (4 to 5 operators, one replaced, switch at an agreed epoch)",
  {timeout: 600_000},
  () => {
    let dir: string;
    let devnet: RunningDevnet | undefined;
    const pool = new BlsPool({size: 1});
    const roles: ValidatorRole[] = [];
    const oldResults: Tagged[] = [];
    const newResults: Tagged[] = [];
    let newLock: ClusterLock;
    let oldLock: ClusterLock;

    before(async () => {
      dir = await tempDir();
      ({lock: oldLock} = await createTestCluster(dir, {start: 0, count: VALIDATORS}));
      devnet = await spawnDevnet([
        ...["--validators", String(VALIDATORS), "--own", "none", "--slot-ms", String(SLOT_MS)],
        ...["--genesis-delay", "10", "--log-level", "warn"],
      ]);
      roles.push(
        ...(await startValidatorRoles({
          lock: oldLock,
          dir,
          beaconUrls: [devnet.url],
          pool,
          hub: new MemoryHub(),
          onResult: (r) => oldResults.push(r),
        })),
      );
    });

    after(async () => {
      await Promise.all(roles.map((r) => r.stop()));
      await pool.close();
      await devnet?.stop();
      await rm(dir, {recursive: true, force: true});
    });

    it("reshares, retires the old nodes and starts the new ones at the switch: every attestation on target", async (t) => {
      const d = devnet as RunningDevnet;
      const oldDirs = [1, 2, 3, 4].map((i) => join(dir, "cluster", `node-${i}`));
      const joiners = [join(dir, "joiner-a"), join(dir, "joiner-b")];
      const joinerIds = await Promise.all(joiners.map((j) => createIdentityFile(j)));
      const kept = await Promise.all(
        oldDirs.slice(0, 3).map(async (o) => (await loadIdentity(join(o, "identity.key"))).peerId),
      );
      const base = 31_000 + Math.floor(Math.random() * 4000);
      const peerIds = [...kept, ...joinerIds.map((j) => j.peerId)];
      const {definition} = buildReshareDefinition({
        oldLock,
        operators: peerIds.map((id, k) => `${id}@127.0.0.1:${base + k}`),
        threshold: 4,
        switchEpoch: SWITCH_EPOCH,
      });
      // Old operator 4 deals and leaves; its ceremony address is its old lock's, which nothing listens on now.
      const newDirs = [join(dir, "new-1"), join(dir, "new-2"), join(dir, "new-3"), ...joiners];
      const lockFile = join(dir, "cluster", "cluster-lock.json");
      const logger = createLogger("error", "reshare");
      const started = Date.now();
      const outcomes = await Promise.all([
        ...oldDirs.map((nodeDir, k) =>
          runReshare({
            definition,
            nodeDir,
            oldLock: lockFile,
            ...(k < 3 ? {outDir: newDirs[k]} : {}),
            kdf: "pbkdf2",
            logger,
            connectTimeoutMs: 30_000,
          }),
        ),
        ...joiners.map((nodeDir) =>
          runReshare({definition, nodeDir, oldLock: lockFile, kdf: "pbkdf2", logger, connectTimeoutMs: 30_000}),
        ),
      ]);
      const reshareMs = Date.now() - started;
      t.diagnostic(`reshare of ${VALIDATORS} validators, 6 participants: ${reshareMs} ms`);
      assert.deepEqual(
        outcomes.map((o) => o.newIndex),
        [1, 2, 3, undefined, 4, 5],
      );
      const nowEpoch = Math.floor((Date.now() / 1000 - d.genesisTime) / ((SLOT_MS / 1000) * SLOTS_PER_EPOCH));
      assert.ok(nowEpoch < SWITCH_EPOCH, `reshare took ${reshareMs} ms, ended in epoch ${nowEpoch}`);
      newLock = await loadLock(join(newDirs[0] as string, "cluster-lock.json"));
      assert.deepEqual(newLock.reshared_from, {lock_hash: oldLock.lock_hash, switch_epoch: SWITCH_EPOCH});

      // Every old node is retired at the switch (r3dv retire does this over IPC), then the new nodes start.
      await Promise.all(roles.map((r) => r.signingTerm?.retire(SWITCH_EPOCH)));
      roles.push(
        ...(await startValidatorRoles({
          lock: newLock,
          dir: join(dir, "new-data"),
          nodeDirs: newDirs,
          beaconUrls: [d.url],
          pool,
          onResult: (r) => newResults.push(r),
          // On, as `r3dv run` has it: the old cluster's liveness before the switch must not stop the new one.
          node: () => ({doppelganger: {enabled: true, clusterSigned: () => new Map()}}),
        })),
      );

      // Epoch 1 (the old lock's last) and 2 (the new lock's first), and one more for their inclusion.
      const until = d.genesisTime * 1000 + 4 * SLOTS_PER_EPOCH * SLOT_MS + 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));
      const {body} = await getJson<Effectiveness>(`${d.url}/r3dv/v1/effectiveness?from_epoch=1&to_epoch=2`);
      let duties = 0;
      let good = 0;
      for (const e of body.data.epochs)
        for (const v of e.validators) {
          duties++;
          if (v.included && v.correct_target) good++;
        }
      const summary = (rs: Tagged[]) => {
        const s: Record<string, number> = {};
        for (const r of rs)
          s[`${r.duty}:${r.status}:${r.reason ?? ""}`] = (s[`${r.duty}:${r.status}:${r.reason ?? ""}`] ?? 0) + 1;
        return JSON.stringify(s);
      };
      assert.equal(duties, 2 * VALIDATORS);
      assert.ok(
        good >= duties * 0.99,
        `${good} of ${duties} on target; old ${summary(oldResults)}; new ${summary(newResults)}`,
      );
      assert.deepEqual(
        body.data.epochs.flatMap((e) => e.missed_proposals),
        [],
        "a block in every slot",
      );

      // Each lock signed its own epochs only: the old nodes nothing from the switch on, the new nothing before it.
      const switchSlot = SWITCH_EPOCH * SLOTS_PER_EPOCH;
      const signed = (r: Tagged) => r.status !== "failed";
      assert.deepEqual(
        oldResults.filter((r) => signed(r) && r.duty === "attester" && r.slot >= switchSlot),
        [],
      );
      assert.deepEqual(
        newResults.filter((r) => r.duty === "attester" && r.slot < switchSlot),
        [],
      );
      const newAttested = new Set(newResults.filter((r) => signed(r) && r.duty === "attester").map((r) => r.node));
      assert.deepEqual([...newAttested].sort(), [1, 2, 3, 4, 5], "every new operator signed from the switch on");
      assert.ok(
        newResults.some((r) => r.duty === "proposer" && r.status === "submitted"),
        "the new lock proposed",
      );
    });
  },
);
