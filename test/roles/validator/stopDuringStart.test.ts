import "../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {join} from "node:path";
import {setTimeout as sleep} from "node:timers/promises";
import {after, describe, it} from "node:test";
import {nodeDirName} from "../../../src/cluster/createCluster.js";
import {IDENTITY_FILE, loadIdentity} from "../../../src/cluster/identity.js";
import {ValidatorRole} from "../../../src/roles/validator/validatorRole.js";
import {createLogger} from "../../../src/util/logger.js";
import {BlsPool} from "../../../src/workers/blsPool.js";
import {tempDir} from "../../helpers/cli.js";
import {MemoryHub} from "../../helpers/memoryTransport.js";
import {recordedNode} from "../../helpers/recordedLodestar.js";
import {createTestCluster} from "../../helpers/validatorRoles.js";

const OURS = [5, 6, 7];

/**
 * `docker stop` right after a node starts: the SIGTERM lands while the validator role is still connecting to its
 * beacon node. The connect used to finish after the stop and start every duty, whose timers kept the stopped
 * process alive until the stop deadline killed it (CI's Dockerfile test). The beacon node here is a real HTTP
 * server answering as Lodestar 1.5.1 did, holding back its genesis answer until the stop has begun.
 */
describe("a validator role stopped while it connects to its beacon node", {timeout: 60_000}, () => {
  const pool = new BlsPool({size: 1});
  let dir: string | undefined;
  after(async () => {
    await pool.close();
    if (dir) await rm(dir, {recursive: true, force: true});
  });

  it("starts no duty once the connect finishes, and its stop waits for that connect", async () => {
    dir = await tempDir();
    const {lock} = await createTestCluster(dir, {start: OURS[0] as number, count: OURS.length});
    const asked: string[] = [];
    let genesisAsked!: () => void;
    const asking = new Promise<void>((r) => (genesisAsked = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const node = await recordedNode(
      (key, a) =>
        key === "/eth/v1/beacon/states/head/validators"
          ? {
              status: 200,
              body: {data: lock.validators.map((v, k) => ({index: String(OURS[k]), validator: {pubkey: v.pubkey}}))},
            }
          : a,
      async (key) => {
        asked.push(key);
        if (key !== "/eth/v1/beacon/genesis") return;
        genesisAsked();
        await released;
      },
    );
    const nodeDir = join(dir, "cluster", nodeDirName(1));
    const role = new ValidatorRole({
      lock,
      self: 1,
      nodeDir,
      dataDir: join(dir, "data-1"),
      beaconUrls: [node.url],
      privateKey: (await loadIdentity(join(nodeDir, IDENTITY_FILE))).privateKey,
      transport: new MemoryHub().transport(1),
      pool,
      logger: createLogger("error", "test"),
      onResult: () => undefined,
    });
    try {
      await role.start();
      await asking;
      let stopped = false;
      const stopping = role.stop().then(() => (stopped = true));
      await sleep(50);
      assert.equal(stopped, false, "the stop waits for the connect in flight");
      release();
      await stopping;
      // Long enough for a started attester to ask for its duties (it does so at once).
      await sleep(1000);
      assert.deepEqual(
        asked.filter((k) => k.includes("/validator/")),
        [],
        `no duty asked the beacon node anything: ${asked.join(", ")}`,
      );
      assert.equal(role.beaconNode, null, "no beacon client kept");
    } finally {
      release();
      await role.stop();
      await node.close();
    }
  });
});
