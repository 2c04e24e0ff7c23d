import assert from "node:assert/strict";
import {mkdir, readFile, readdir, rm, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {buildDefinition} from "../../../src/cluster/definition.js";
import type {ClusterDefinition} from "../../../src/cluster/definitionSchema.js";
import {DkgError} from "../../../src/cluster/dkg/outcome.js";
import {RunDkgError, runDkg} from "../../../src/cluster/dkg/runDkg.js";
import {createIdentityFile} from "../../../src/cluster/identity.js";
import {type Logger, createLogger} from "../../../src/util/logger.js";
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

/** A logger that hands every info line to `watch` (to act at a point of the ceremony) and prints nothing. */
function watchingLogger(watch: (message: string, context?: Record<string, unknown>) => void): Logger {
  const logger: Logger = {
    error: () => {},
    warn: () => {},
    info: watch,
    debug: () => {},
    child: () => logger,
  };
  return logger;
}

describe("runDkg over loopback: an operator cancelled mid-ceremony (Ctrl-C)", () => {
  let dir: string;
  before(async () => (dir = await tempDir()));
  after(() => rm(dir, {recursive: true, force: true}));

  it("tells the others, who stop at once naming it and its reason, with nothing written anywhere", async () => {
    const base = 28_000 + Math.floor(Math.random() * 2000);
    const nodeDirs = [1, 2, 3, 4].map((i) => join(dir, `op${i}`));
    const ids = await Promise.all(nodeDirs.map((d) => createIdentityFile(d)));
    const definition = buildDefinition({
      operators: ids.map((id, k) => `${id.peerId}@127.0.0.1:${base + k}`),
      validators: 2,
      network: "devnet",
      withdrawalAddress: "0x" + "ab".repeat(20),
    }).definition;
    const cancel = new AbortController();
    const run = (k: number, logger: Logger, signal?: AbortSignal) =>
      runDkg({definition, nodeDir: nodeDirs[k] as string, kdf: "pbkdf2", logger, connectTimeoutMs: 30_000, signal})
        .then(() => assert.fail(`operator ${k + 1} finished`))
        .catch((e: unknown) => e);
    const started = Date.now();
    // Operator 4 is cancelled once the deal round is done: the others then wait for its echo.
    const outcomes = await Promise.all([
      ...[0, 1, 2].map((k) => run(k, createLogger("error"))),
      run(
        3,
        watchingLogger((m, c) => m === "DKG round done" && c?.round === "deal" && cancel.abort()),
        cancel.signal,
      ),
    ]);
    const fourth = outcomes[3];
    assert.ok(fourth instanceof DkgError && fourth.code === "DKG_CANCELLED", String(fourth));
    for (const e of outcomes.slice(0, 3)) {
      assert.ok(e instanceof DkgError && e.type.code === "DKG_PEER_ABORTED", String(e));
      assert.equal(e.type.code === "DKG_PEER_ABORTED" && e.type.operator, 4);
      assert.match(e.message, /operator 4 stopped the ceremony: the DKG ceremony was cancelled/);
    }
    // Well before the echo round's 60 s deadline: nobody waited for the cancelled operator.
    assert.ok(Date.now() - started < 40_000, `took ${Date.now() - started} ms`);
    for (const d of nodeDirs) assert.deepEqual(await readdir(d), ["identity.key"]);
  });
});
