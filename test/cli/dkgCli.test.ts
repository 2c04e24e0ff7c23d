import assert from "node:assert/strict";
import {spawn} from "node:child_process";
import {once} from "node:events";
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
import {MAIN, runR3dv, tempDir} from "../helpers/cli.js";

/** Four operators that made their own identities, and a definition naming them on loopback. */
async function cluster(
  dir: string,
  name: string,
  basePort: number,
): Promise<{nodeDirs: string[]; file: string; other: string}> {
  const nodeDirs = [1, 2, 3, 4].map((i) => join(dir, name, `op${i}`));
  const ids = await Promise.all(nodeDirs.map((d) => createIdentityFile(d)));
  const define = (validators: number) =>
    buildDefinition({
      operators: ids.map((id, k) => `${id.peerId}@127.0.0.1:${basePort + k}`),
      validators,
      network: "devnet",
      withdrawalAddress: "0x" + "ab".repeat(20),
    }).definition;
  const file = join(dir, name, "cluster-definition.json");
  await writeDefinition(file, define(2));
  // The same operators, one validator more: a definition changed (and re-hashed) behind the others' backs.
  const other = join(dir, name, "other-definition.json");
  await writeDefinition(other, define(3));
  return {nodeDirs, file, other};
}

/**
 * An operator that finds a fault stops and tells the others, so each either finds it itself or hears it from the
 * first that did; the error names the cause either way.
 */
const BY_ITSELF_OR_A_PEER = "r3dv: error: (operator \\d stopped the ceremony: )?";

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

  it("stops every operator when one holds another definition, naming it, and writes nothing", async () => {
    const {nodeDirs, file, other} = await cluster(dir, "mismatch", base + 20);
    const started = Date.now();
    const runs = await Promise.all(nodeDirs.map((d, k) => dkg(k === 3 ? other : file, d)));
    // Well under a round's 60 s deadline: each stops as soon as it has the hellos (the stopping ones still
    // deliver theirs), none waits out a deadline for a hello that was lost.
    assert.ok(Date.now() - started < 50_000, `took ${Date.now() - started} ms`);
    for (const r of runs.slice(0, 3)) {
      assert.equal(r.code, 1, r.stderr);
      // Operator 4 is named either way: found by this operator itself or a peer that shares its definition, or
      // told by operator 4, which stopped first and names every other operator as holding another definition
      // (CI: operator 4's word reached operator 3 before operator 3 had every hello).
      assert.match(
        r.stderr,
        new RegExp(
          `${BY_ITSELF_OR_A_PEER}operator\\(s\\) 4 \\(hash 0x[0-9a-f]{64}\\) hold a different|` +
            `r3dv: error: operator 4 stopped the ceremony: operator\\(s\\) 1 \\(hash 0x[0-9a-f]{64}\\), 2 .* hold a different`,
        ),
      );
    }
    assert.equal(runs[3]?.code, 1);
    assert.match(
      runs[3]?.stderr ?? "",
      new RegExp(`${BY_ITSELF_OR_A_PEER}operator\\(s\\) .* hold a different definition`),
    );
    for (const d of nodeDirs) assert.deepEqual(await readdir(d), ["identity.key"]);
  });

  it("an operator killed mid-ceremony and started again: every operator starts over and all end with the same lock", async () => {
    const {nodeDirs, file} = await cluster(dir, "restart", base + 30);
    const args = (d: string) => ["dkg", "--definition", file, "--node-dir", d, "--kdf", "pbkdf2"];
    const started = Date.now();
    const others = nodeDirs.slice(0, 3).map((d) => runR3dv(args(d), {timeoutMs: 90_000}));
    // Operator 4 is killed (no goodbye) once its deal round is done, then started again with the same node dir.
    const first = spawn(process.execPath, [MAIN, ...args(nodeDirs[3] as string)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    first.stderr.on("data", (d: Buffer) => {
      log += d.toString();
      if (/"round":"deal"[^\n]*"msg":"DKG round done"/.test(log)) first.kill("SIGKILL");
    });
    await once(first, "close");
    assert.match(log, /"round":"deal"/, "operator 4 was killed after its deal round");
    const again = await runR3dv(args(nodeDirs[3] as string), {timeoutMs: 90_000});
    const runs = [...(await Promise.all(others)), again];
    runs.forEach((r, k) => assert.equal(r.code, 0, `operator ${k + 1}: ${r.stderr.slice(-2000)}`));
    // Each of the three started over, told by operator 4's new run or by another that started over before it.
    const over = /"operators":\[(\d)\][^\n]*"msg":"DKG: starting the ceremony over"/;
    const causes = runs.slice(0, 3).map((r) => over.exec(r.stderr)?.[1]);
    assert.ok(causes.every((c) => c !== undefined) && causes.includes("4"), `started over because of ${causes}`);
    // Before the echo round's 60 s deadline: the restart was recognised, not waited out.
    assert.ok(Date.now() - started < 55_000, `took ${Date.now() - started} ms`);
    const texts = await Promise.all(nodeDirs.map((d) => readFile(join(d, "cluster-lock.json"), "utf8")));
    assert.equal(new Set(texts).size, 1, "byte-identical lock");
    const lock = await loadLock(join(nodeDirs[0] as string, "cluster-lock.json"));
    for (const [k, d] of nodeDirs.entries()) {
      const shares = await loadShareKeys(lock, d, k + 1);
      lock.validators.forEach((v, j) =>
        assert.equal(toHex(secretToPublicKey(shares[j]?.secret as Uint8Array)), v.share_pubkeys[k]),
      );
    }
  });

  it("names an operator that never connects, and writes nothing", async () => {
    const {nodeDirs, file} = await cluster(dir, "missing", base + 10);
    // Long enough for the three to start and connect on a loaded machine; the first to give up may leave the
    // others naming it too, so each must name operator 4, not only operator 4.
    const runs = await Promise.all(nodeDirs.slice(0, 3).map((d) => dkg(file, d, "--connect-timeout", "8")));
    for (const r of runs) {
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `${BY_ITSELF_OR_A_PEER}operator\\(s\\) .*\\b4 \\(12D3\\w+ at 127\\.0\\.0\\.1:\\d+\\).* did not connect`,
        ),
      );
    }
    for (const d of nodeDirs) assert.deepEqual(await readdir(d), ["identity.key"]);
  });
});
