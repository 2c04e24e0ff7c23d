import assert from "node:assert/strict";
import {chmod, rm} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {
  KEYS_DIR,
  createCluster,
  keystoreFileName,
  nodeDirName,
  passwordFileName,
} from "../../src/cluster/createCluster.js";
import {FilePermissionError} from "../../src/cluster/filePermissions.js";
import {IDENTITY_FILE, loadIdentity} from "../../src/cluster/identity.js";
import type {ClusterLock} from "../../src/cluster/lockSchema.js";
import {loadShareKeys} from "../../src/roles/validator/signing/shareKeys.js";
import {tempDir} from "../helpers/cli.js";

const exposed = (file: string, mode: string) => (e: unknown) => {
  assert.ok(e instanceof FilePermissionError, `expected a permission refusal, got ${String(e)}`);
  assert.deepEqual(e.type, {code: "SECRET_FILE_EXPOSED", file, mode, fix: `chmod 600 ${file}`});
  assert.match(e.message, new RegExp(`run \`chmod 600 ${file.replace(/[.]/g, "\\.")}\``));
  return true;
};

describe("secret files open to other users are refused at load", () => {
  let parent: string;
  let nodeDir: string;
  let lock: ClusterLock;
  before(async () => {
    parent = await tempDir();
    const out = join(parent, "cluster");
    ({lock} = await createCluster({
      nodes: 4,
      threshold: 3,
      keys: {kind: "interop", start: 0, count: 1},
      network: "devnet",
      withdrawalAddress: "0x" + "ab".repeat(20),
      kdf: "pbkdf2",
      out,
    }));
    nodeDir = join(out, nodeDirName(1));
  });
  after(() => rm(parent, {recursive: true, force: true}));

  it("loads what create-cluster wrote (0600)", async () => {
    assert.equal((await loadIdentity(join(nodeDir, IDENTITY_FILE))).peerId, lock.operators[0]?.peer_id);
    assert.equal((await loadShareKeys(lock, nodeDir, 1)).length, 1);
  });

  it("a world-readable keystore stops the node's key loading with the chmod to run", async () => {
    const file = join(nodeDir, KEYS_DIR, keystoreFileName(0));
    await chmod(file, 0o644);
    await assert.rejects(loadShareKeys(lock, nodeDir, 1), exposed(file, "0644"));
    await chmod(file, 0o600);
  });

  it("a group-readable keystore password is refused too", async () => {
    const file = join(nodeDir, KEYS_DIR, passwordFileName(0));
    await chmod(file, 0o640);
    await assert.rejects(loadShareKeys(lock, nodeDir, 1), exposed(file, "0640"));
    await chmod(file, 0o600);
  });

  it("a node identity others can read is refused", async () => {
    const file = join(nodeDir, IDENTITY_FILE);
    await chmod(file, 0o604);
    await assert.rejects(loadIdentity(file), exposed(file, "0604"));
    await chmod(file, 0o600);
    await loadIdentity(file);
  });
});
