import assert from "node:assert/strict";
import {readFile, readdir, rm} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {checkDepositData} from "../../src/cluster/deposit.js";
import type {DkgResult} from "../../src/cluster/dkg/outcome.js";
import {createIdentityFile, loadIdentity} from "../../src/cluster/identity.js";
import {loadLock} from "../../src/cluster/lock.js";
import type {ClusterLock} from "../../src/cluster/lockSchema.js";
import {fromHex} from "../../src/hotpath/bytes.js";
import {initHerumi} from "../../src/hotpath/herumi.js";
import {loadShareKeys} from "../../src/roles/validator/signing/shareKeys.js";
import {assertThresholdKeys} from "../helpers/dkgAsserts.js";
import {runR3dv, tempDir} from "../helpers/cli.js";

const WITHDRAWAL = "0x" + "ab".repeat(20);

/** A 3-of-4 cluster of 2 validators made by create-cluster (a trusted dealer), its operators on `base`.. ports. */
async function oldCluster(dir: string, base: number): Promise<{lockFile: string; nodeDirs: string[]}> {
  const out = join(dir, "old");
  const operators = [0, 1, 2, 3].map((k) => `127.0.0.1:${base + k}`).join(",");
  const r = await runR3dv([
    "create-cluster",
    ...["--nodes", "4", "--threshold", "3", "--validators", "2", "--network", "devnet"],
    ...["--withdrawal-address", WITHDRAWAL, "--operators", operators, "--kdf", "pbkdf2", "--out", out],
  ]);
  assert.equal(r.code, 0, r.stderr);
  return {lockFile: join(out, "cluster-lock.json"), nodeDirs: [1, 2, 3, 4].map((i) => join(out, `node-${i}`))};
}

const peerIdOf = async (nodeDir: string) => (await loadIdentity(join(nodeDir, "identity.key"))).peerId;

const reshare = (definition: string, nodeDir: string, ...extra: string[]) =>
  runR3dv(["reshare", "--definition", definition, "--node-dir", nodeDir, "--kdf", "pbkdf2", ...extra], {
    timeoutMs: 90_000,
  });

/**
 * What a new operator's node dir must hold: the same lock everywhere, naming the old one and keeping every
 * validator's key and settings; share keystores `r3dv run` loads; deposits that verify and equal the old ones
 * (BLS signatures are deterministic: the new shares recover the very signature the old ones did); any
 * `threshold` new shares give each validator's key and no fewer do (bigint interpolation, independent of BLS).
 */
async function assertNewCluster(old: ClusterLock, oldDir: string, newDirs: string[], threshold: number) {
  const texts = await Promise.all(newDirs.map((d) => readFile(join(d, "cluster-lock.json"), "utf8")));
  assert.equal(new Set(texts).size, 1, "byte-identical lock");
  const lock = await loadLock(join(newDirs[0] as string, "cluster-lock.json"));
  assert.deepEqual(lock.reshared_from, {lock_hash: old.lock_hash, switch_epoch: 0});
  assert.equal(lock.threshold, threshold);
  const settings = (l: ClusterLock) => l.validators.map(({share_pubkeys: _, ...v}) => v);
  assert.deepEqual(settings(lock), settings(old), "keys, withdrawal, fee recipient and gas limit carried over");
  const oldDeposits = JSON.parse(await readFile(join(oldDir, "deposit-data.json"), "utf8"));
  const results = new Map<number, DkgResult>();
  for (const [k, d] of newDirs.entries()) {
    const shares = await loadShareKeys(lock, d, k + 1);
    const deposits = JSON.parse(await readFile(join(d, "deposit-data.json"), "utf8"));
    for (const dep of deposits) assert.deepEqual(checkDepositData(dep, "devnet"), []);
    assert.deepEqual(
      deposits.map((x: {signature: string}) => x.signature),
      oldDeposits.map((x: {signature: string}) => x.signature),
    );
    const validators = lock.validators.map((v, j) => ({
      groupPubkey: fromHex(v.pubkey),
      sharePubkeys: v.share_pubkeys.map((h) => fromHex(h)),
      secretShare: shares[j]?.secret as Uint8Array,
    }));
    results.set(k + 1, {qualified: [], disqualified: [], answered: [], faults: [], validators});
  }
  assertThresholdKeys(results, threshold);
}

describe("r3dv reshare (processes on loopback)", () => {
  let dir: string;
  const base = 28_000 + Math.floor(Math.random() * 5000);
  before(async () => {
    dir = await tempDir();
    await initHerumi();
  });
  after(() => rm(dir, {recursive: true, force: true}));

  it("4 operators to 5 (3-of-4 to 4-of-5): every validator keeps its key, the new shares sign, old node dirs untouched", async () => {
    const {lockFile, nodeDirs} = await oldCluster(dir, base);
    const old = await loadLock(lockFile);
    const before = await Promise.all(nodeDirs.map((d) => readdir(d)));
    const fifth = join(dir, "op5");
    const {peerId} = await createIdentityFile(fifth);
    const ids = [...(await Promise.all(nodeDirs.map(peerIdOf))), peerId];
    // The new cluster's nodes listen on other ports than the running old ones.
    const operators = ids.map((id, k) => `${id}@127.0.0.1:${base + 10 + k}`).join(",");
    const definition = join(dir, "reshare-5.json");
    const made = await runR3dv([
      "create-definition",
      "--reshare-from",
      lockFile,
      "--operators",
      operators,
      "--out",
      definition,
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /threshold +4 of 5/);
    const newDirs = [1, 2, 3, 4].map((i) => join(dir, `new-${i}`));
    const runs = await Promise.all([
      ...nodeDirs.map((d, k) => reshare(definition, d, "--old-lock", lockFile, "--out-dir", newDirs[k] as string)),
      reshare(definition, fifth, "--old-lock", lockFile),
    ]);
    runs.forEach((r, k) => assert.equal(r.code, 0, `participant ${k + 1}: ${r.stderr.slice(-2000)}`));
    assert.match(runs[4]?.stdout ?? "", /new to the cluster, now operator 5 of 5/);
    await assertNewCluster(old, join(dir, "old"), [...newDirs, fifth], 4);
    assert.deepEqual(await Promise.all(nodeDirs.map((d) => readdir(d))), before, "old node dirs unchanged");
  });

  it("replacing a lost operator: old 1-3 deal, a new fourth joins, 3-of-4 again", async () => {
    const {lockFile, nodeDirs} = await oldCluster(join(dir, "replace"), base + 20);
    const old = await loadLock(lockFile);
    const fourth = join(dir, "replace", "op4-new");
    const {peerId} = await createIdentityFile(fourth);
    const ids = [...(await Promise.all(nodeDirs.slice(0, 3).map(peerIdOf))), peerId];
    const operators = ids.map((id, k) => `${id}@127.0.0.1:${base + 30 + k}`).join(",");
    const definition = join(dir, "replace", "reshare.json");
    const made = await runR3dv([
      ...["create-definition", "--reshare-from", lockFile, "--operators", operators],
      ...["--dealers", "1,2,3", "--out", definition],
    ]);
    assert.equal(made.code, 0, made.stderr);
    const newDirs = [1, 2, 3].map((i) => join(dir, "replace", `new-${i}`));
    const runs = await Promise.all([
      ...nodeDirs
        .slice(0, 3)
        .map((d, k) => reshare(definition, d, "--old-lock", lockFile, "--out-dir", newDirs[k] as string)),
      reshare(definition, fourth, "--old-lock", lockFile),
    ]);
    runs.forEach((r, k) => assert.equal(r.code, 0, `participant ${k + 1}: ${r.stderr.slice(-2000)}`));
    await assertNewCluster(old, join(dir, "replace", "old"), [...newDirs, fourth], 3);
  });

  it("refuses, with what to do, a lock other than the one the definition reshares and too few dealers", async () => {
    const a = await oldCluster(join(dir, "a"), base + 40);
    const b = await oldCluster(join(dir, "b"), base + 50);
    const ids = await Promise.all(a.nodeDirs.map(peerIdOf));
    const operators = ids.map((id, k) => `${id}@127.0.0.1:${base + 60 + k}`).join(",");
    const definition = join(dir, "a", "reshare.json");
    const made = await runR3dv([
      "create-definition",
      "--reshare-from",
      a.lockFile,
      "--operators",
      operators,
      "--out",
      definition,
    ]);
    assert.equal(made.code, 0, made.stderr);
    const wrong = await reshare(
      definition,
      a.nodeDirs[0] as string,
      "--old-lock",
      b.lockFile,
      "--out-dir",
      join(dir, "x"),
    );
    assert.notEqual(wrong.code, 0);
    assert.match(
      wrong.stderr,
      /the definition reshares lock 0x[0-9a-f]{64}, this lock is 0x[0-9a-f]{64}; use the cluster's current/,
    );
    const few = await runR3dv([
      ...["create-definition", "--reshare-from", a.lockFile, "--operators", operators],
      ...["--dealers", "1,2", "--out", join(dir, "a", "few.json")],
    ]);
    assert.notEqual(few.code, 0);
    assert.match(few.stderr, /--dealers: 2 old operator\(s\) cannot reshare keys that need 3 shares/);
  });
});
