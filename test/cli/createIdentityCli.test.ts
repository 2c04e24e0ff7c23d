import assert from "node:assert/strict";
import {readFile, rm, stat} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {IDENTITY_FILE, loadIdentity} from "../../src/cluster/identity.js";
import {runR3dv, tempDir} from "../helpers/cli.js";

describe("r3dv create-identity (CLI)", () => {
  let dir: string;
  before(async () => (dir = await tempDir()));
  after(() => rm(dir, {recursive: true, force: true}));

  it("writes an owner-only identity key and prints the peer id it belongs to", async () => {
    const nodeDir = join(dir, "a", "node");
    const res = await runR3dv(["create-identity", "--node-dir", nodeDir]);
    assert.equal(res.code, 0, res.stderr);
    const file = join(nodeDir, IDENTITY_FILE);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(nodeDir)).mode & 0o777, 0o700);
    assert.equal(res.stdout.trim(), (await loadIdentity(file)).peerId);
  });

  it("refuses to replace an existing key and leaves it unchanged", async () => {
    const nodeDir = join(dir, "b");
    assert.equal((await runR3dv(["create-identity", "--node-dir", nodeDir])).code, 0);
    const before = await readFile(join(nodeDir, IDENTITY_FILE));
    const again = await runR3dv(["create-identity", "--node-dir", nodeDir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists: r3dv never replaces a node identity/);
    assert.equal(again.stdout, "");
    assert.deepEqual(await readFile(join(nodeDir, IDENTITY_FILE)), before);
  });

  it("gives two nodes two different peer ids", async () => {
    const a = await runR3dv(["create-identity", "--node-dir", join(dir, "c1")]);
    const b = await runR3dv(["create-identity", "--node-dir", join(dir, "c2")]);
    assert.notEqual(a.stdout.trim(), b.stdout.trim());
  });
});
