import assert from "node:assert/strict";
import {mkdir, readFile, rm, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {buildDefinition} from "../../../src/cluster/definition.js";
import type {ClusterDefinition} from "../../../src/cluster/definitionSchema.js";
import {RunDkgError, runDkg} from "../../../src/cluster/dkg/runDkg.js";
import {createIdentityFile} from "../../../src/cluster/identity.js";
import {createLogger} from "../../../src/util/logger.js";
import {tempDir} from "../../helpers/cli.js";

/** The refusals `r3dv dkg` makes before it opens any connection. */
describe("runDkg refusals", () => {
  let dir: string;
  let definition: ClusterDefinition;
  before(async () => {
    dir = await tempDir();
    const ids = await Promise.all([1, 2, 3].map((i) => createIdentityFile(join(dir, `op${i}`))));
    definition = buildDefinition({
      operators: ids.map((id, k) => `${id.peerId}@127.0.0.1:${9201 + k}`),
      validators: 1,
      network: "devnet",
      withdrawalAddress: "0x" + "ab".repeat(20),
    }).definition;
  });
  after(() => rm(dir, {recursive: true, force: true}));
  const run = (nodeDir: string) =>
    runDkg({definition, nodeDir, kdf: "pbkdf2", logger: createLogger("error"), connectTimeoutMs: 1000});
  const refused = (code: string, message: RegExp) => (e: unknown) =>
    e instanceof RunDkgError && e.code === code && message.test(e.message);

  it("refuses a node dir whose identity is no operator of the definition", async () => {
    const stranger = join(dir, "stranger");
    const {peerId} = await createIdentityFile(stranger);
    await assert.rejects(run(stranger), refused("DKG_NOT_AN_OPERATOR", new RegExp(`this node \\(${peerId}\\)`)));
  });

  it("refuses a node dir that already holds a lock or keys, and leaves them as they were", async () => {
    const nodeDir = join(dir, "op1");
    await writeFile(join(nodeDir, "cluster-lock.json"), "{}");
    await mkdir(join(nodeDir, "validator_keys"));
    await assert.rejects(run(nodeDir), refused("DKG_NODE_DIR_NOT_EMPTY", /cluster-lock.json, validator_keys/));
    assert.equal(await readFile(join(nodeDir, "cluster-lock.json"), "utf8"), "{}");
  });
});
