import assert from "node:assert/strict";
import {readFile, readdir, rm} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {buildDefinition, writeDefinition} from "../../src/cluster/definition.js";
import {checkDepositData} from "../../src/cluster/deposit.js";
import {createIdentityFile} from "../../src/cluster/identity.js";
import {loadLock} from "../../src/cluster/lock.js";
import {toHex} from "../../src/hotpath/bytes.js";
import {loadShareKeys} from "../../src/roles/validator/signing/shareKeys.js";
import {secretToPublicKey} from "../../src/hotpath/threshold.js";
import {runR3dv, tempDir} from "../helpers/cli.js";

/** Four operators that made their own identities, and a definition naming them on loopback. */
async function cluster(dir: string, name: string, basePort: number): Promise<{nodeDirs: string[]; file: string}> {
  const nodeDirs = [1, 2, 3, 4].map((i) => join(dir, name, `op${i}`));
  const ids = await Promise.all(nodeDirs.map((d) => createIdentityFile(d)));
  const {definition} = buildDefinition({
    operators: ids.map((id, k) => `${id.peerId}@127.0.0.1:${basePort + k}`),
    validators: 2,
    network: "devnet",
    withdrawalAddress: "0x" + "ab".repeat(20),
  });
  const file = join(dir, name, "cluster-definition.json");
  await writeDefinition(file, definition);
  return {nodeDirs, file};
}

const dkg = (file: string, nodeDir: string, ...extra: string[]) =>
  runR3dv(["dkg", "--definition", file, "--node-dir", nodeDir, "--kdf", "pbkdf2", ...extra], {timeoutMs: 90_000});

describe("r3dv dkg (four processes on loopback)", () => {
  let dir: string;
  // Ports far from the defaults (9000+) other tests and devnets use; each case its own range.
  const base = 23_000 + Math.floor(Math.random() * 5000);
  before(async () => (dir = await tempDir()));
  after(() => rm(dir, {recursive: true, force: true}));

  it("gives every operator the same signed lock, its own share keystores and valid deposits", async () => {
    const {nodeDirs, file} = await cluster(dir, "ok", base);
    const runs = await Promise.all(nodeDirs.map((d) => dkg(file, d)));
    runs.forEach((r, k) => assert.equal(r.code, 0, `operator ${k + 1}: ${r.stderr.slice(-2000)}`));
    const texts = await Promise.all(nodeDirs.map((d) => readFile(join(d, "cluster-lock.json"), "utf8")));
    assert.equal(new Set(texts).size, 1, "byte-identical lock");
    const lock = await loadLock(join(nodeDirs[0] as string, "cluster-lock.json"));
    for (const [k, d] of nodeDirs.entries()) {
      // What `r3dv run` loads at start: owner-only files, each keystore the lock's share key of this operator.
      const shares = await loadShareKeys(lock, d, k + 1);
      for (const [j, v] of lock.validators.entries()) {
        assert.equal(toHex(secretToPublicKey(shares[j]?.secret as Uint8Array)), v.share_pubkeys[k]);
      }
      const deposits = JSON.parse(await readFile(join(d, "deposit-data.json"), "utf8"));
      for (const dep of deposits) assert.deepEqual(checkDepositData(dep, "devnet"), []);
    }
  });

  it("names an operator that never connects, and writes nothing", async () => {
    const {nodeDirs, file} = await cluster(dir, "missing", base + 10);
    // Long enough for the three to start and connect on a loaded machine; the first to give up may leave the
    // others naming it too, so each must name operator 4, not only operator 4.
    const runs = await Promise.all(nodeDirs.slice(0, 3).map((d) => dkg(file, d, "--connect-timeout", "8")));
    for (const r of runs) {
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /r3dv: error: operator\(s\) .*\b4 \(12D3\w+ at 127\.0\.0\.1:\d+\).* did not connect/);
    }
    for (const d of nodeDirs) assert.deepEqual(await readdir(d), ["identity.key"]);
  });
});
