import assert from "node:assert/strict";
import {execFile} from "node:child_process";
import {readFile, rm, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {promisify} from "node:util";
import {after, before, describe, it} from "node:test";
import {SLASHING_DB_DIR, SlashingProtection} from "../../src/storage/slashing/slashingProtection.js";
import {runR3dv, tempDir} from "../helpers/cli.js";

const GVR = "0x" + "0a".repeat(32);
const PK = "0x" + "a1".repeat(48);
const RACER = fileURLToPath(new URL("../helpers/slashingRace.js", import.meta.url));

describe("r3dv slashing-protection (CLI) and the DB across processes", () => {
  let dir: string;
  before(async () => (dir = await tempDir()));
  after(() => rm(dir, {recursive: true, force: true}));

  it("imports a file from another client, then exports the same history", async () => {
    const interchange = {
      metadata: {interchange_format_version: "5", genesis_validators_root: GVR},
      data: [
        {
          pubkey: PK,
          signed_blocks: [{slot: "81952", signing_root: "0x" + "11".repeat(32)}],
          signed_attestations: [{source_epoch: "2290", target_epoch: "3007", signing_root: "0x" + "22".repeat(32)}],
        },
      ],
    };
    await writeFile(join(dir, "in.json"), JSON.stringify(interchange));
    const imp = await runR3dv(["slashing-protection", "import", join(dir, "in.json"), "--data-dir", join(dir, "node")]);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /imported 1 validator\(s\), 1 block\(s\), 1 attestation\(s\)/);
    const exp = await runR3dv([
      "slashing-protection",
      "export",
      "--data-dir",
      join(dir, "node"),
      "--out",
      join(dir, "out.json"),
    ]);
    assert.equal(exp.code, 0, exp.stderr);
    assert.deepEqual(JSON.parse(await readFile(join(dir, "out.json"), "utf8")), interchange);
    const again = await runR3dv([
      "slashing-protection",
      "export",
      "--data-dir",
      join(dir, "node"),
      "--out",
      join(dir, "out.json"),
    ]);
    assert.equal(again.code, 1, "never overwrites an export");
    assert.match(again.stderr, /cannot write .*out\.json/);
  });

  it("refuses another chain's file and a garbage file with clear errors", async () => {
    await writeFile(
      join(dir, "other.json"),
      JSON.stringify({
        metadata: {interchange_format_version: "5", genesis_validators_root: "0x" + "ff".repeat(32)},
        data: [],
      }),
    );
    const other = await runR3dv([
      "slashing-protection",
      "import",
      join(dir, "other.json"),
      "--data-dir",
      join(dir, "node"),
    ]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /belongs to the chain with genesis validators root 0x0a0a/);
    await writeFile(join(dir, "garbage.json"), "<html>");
    const garbage = await runR3dv([
      "slashing-protection",
      "import",
      join(dir, "garbage.json"),
      "--data-dir",
      join(dir, "node"),
    ]);
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /cannot read interchange file .*garbage\.json/);
  });

  it("two processes sharing one DB never both sign the same target", async () => {
    const path = join(dir, "shared", SLASHING_DB_DIR);
    const setup = SlashingProtection.open(path);
    await setup.ensureGenesisValidatorsRoot(GVR);
    await setup.close();
    const run = promisify(execFile);
    const targets = 200;
    const [a, b] = await Promise.all([
      run(process.execPath, [RACER, path, "a", String(targets)]),
      run(process.execPath, [RACER, path, "b", String(targets)]),
    ]);
    const signed = Number(a.stdout) + Number(b.stdout);
    const db = SlashingProtection.open(path);
    try {
      const [history] = db.exportInterchange().data;
      const recorded = history?.signed_attestations ?? [];
      // Every signature the two processes were allowed is one record, and no target has two.
      assert.equal(signed, recorded.length);
      assert.equal(new Set(recorded.map((r) => r.target_epoch)).size, recorded.length);
      assert.ok(signed >= 1 && signed <= targets);
    } finally {
      await db.close();
    }
  });
});
