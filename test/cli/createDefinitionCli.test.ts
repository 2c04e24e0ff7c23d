import assert from "node:assert/strict";
import {readFile, rm} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {loadDefinition} from "../../src/cluster/definition.js";
import {generateIdentity} from "../../src/cluster/identity.js";
import {runR3dv, tempDir} from "../helpers/cli.js";

describe("r3dv create-definition (CLI)", () => {
  let dir: string;
  let operators: string;
  before(async () => {
    dir = await tempDir();
    const ids = await Promise.all([1, 2, 3, 4].map(() => generateIdentity()));
    operators = ids.map((id, k) => `${id.peerId}@127.0.0.1:${9001 + k}`).join(",");
  });
  after(() => rm(dir, {recursive: true, force: true}));
  const args = (out: string, ...extra: string[]) => [
    "create-definition",
    "--operators",
    operators,
    "--validators",
    "8",
    "--network",
    "devnet",
    "--withdrawal-address",
    "0x" + "ab".repeat(20),
    "--compounding",
    "--out",
    out,
    ...extra,
  ];

  it("writes a definition that loads with its hash, and never overwrites it", async () => {
    const out = join(dir, "def.json");
    const res = await runR3dv(args(out));
    assert.equal(res.code, 0, res.stderr);
    const def = await loadDefinition(out);
    assert.equal(def.threshold, 3);
    assert.equal(def.validators, 8);
    assert.equal(def.compounding, true);
    assert.match(res.stdout, new RegExp(`definition_hash\\s+${def.definition_hash}`));
    const text = await readFile(out, "utf8");
    const again = await runR3dv(args(out));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
    assert.equal(await readFile(out, "utf8"), text);
  });

  it("exits 2 on a minority threshold and writes nothing", async () => {
    const out = join(dir, "minority.json");
    const res = await runR3dv(args(out, "--threshold", "2"));
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--threshold: threshold 2 of 4 is not a majority/);
    await assert.rejects(readFile(out));
  });
});
