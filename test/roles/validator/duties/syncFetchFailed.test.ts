import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {nodeDirName} from "../../../../src/cluster/createCluster.js";
import {IDENTITY_FILE, loadIdentity} from "../../../../src/cluster/identity.js";
import {type AnyDutyResult, ValidatorRole} from "../../../../src/roles/validator/validatorRole.js";
import {createLogger} from "../../../../src/util/logger.js";
import {BlsPool} from "../../../../src/workers/blsPool.js";
import {tempDir} from "../../../helpers/cli.js";
import {waitFor} from "../../../helpers/cluster.js";
import {MemoryHub} from "../../../helpers/memoryTransport.js";
import {recordedNode} from "../../../helpers/recordedLodestar.js";
import {createTestCluster} from "../../../helpers/validatorRoles.js";

const OURS = [5, 6, 7];

/**
 * A node whose beacon node fails the sync committee duties read (HTTP 500) must say so in its duty results:
 * with no result at all, "no failed sync duty" would hold for a node that never ran one. The beacon node is
 * a real HTTP server answering as Lodestar 1.5.1 did, except for that route; the validator role is the real one.
 */
describe("sync duties whose fetch fails", {timeout: 60_000}, () => {
  let dir: string;
  let role: ValidatorRole;
  let node: {url: string; close(): Promise<void>};
  const pool = new BlsPool({size: 1});
  const results: AnyDutyResult[] = [];

  before(async () => {
    dir = await tempDir();
    const {lock} = await createTestCluster(dir, {start: OURS[0] as number, count: OURS.length});
    node = await recordedNode((key, a) => {
      if (key === "/eth/v1/validator/duties/sync/{n}")
        return {
          status: 500,
          body: {statusCode: 500, error: "Internal Server Error", message: "sync committee state unavailable"},
        };
      if (key === "/eth/v1/beacon/states/head/validators")
        return {
          status: 200,
          body: {data: lock.validators.map((v, k) => ({index: String(OURS[k]), validator: {pubkey: v.pubkey}}))},
        };
      return a;
    });
    const nodeDir = join(dir, "cluster", nodeDirName(1));
    const {privateKey} = await loadIdentity(join(nodeDir, IDENTITY_FILE));
    const logger = createLogger("error", "test");
    role = new ValidatorRole({
      lock,
      self: 1,
      nodeDir,
      dataDir: join(dir, "data-1"),
      beaconUrls: [node.url],
      privateKey,
      transport: new MemoryHub().transport(1),
      pool,
      logger,
      onResult: (r) => results.push(r),
    });
    await role.start();
  });

  after(async () => {
    await role?.stop();
    await pool.close();
    await node?.close();
    await rm(dir, {recursive: true, force: true});
  });

  it("reports every validator's sync message and contribution as duty_fetch_failed, with the beacon node's reason", async () => {
    const failed = (duty: string) =>
      results.filter((r) => r.duty === duty && r.status === "failed" && r.reason === "duty_fetch_failed");
    const slot = await waitFor("a slot with both sync duties failed for all our validators", async () => {
      const both = failed("sync_message").find(
        (m) => failed("sync_contribution").filter((c) => c.slot === m.slot).length === OURS.length,
      );
      return both && failed("sync_message").filter((m) => m.slot === both.slot).length === OURS.length
        ? both.slot
        : undefined;
    });
    for (const r of results.filter((x) => x.slot === slot && x.duty.startsWith("sync_"))) {
      assert.ok(OURS.includes(r.validatorIndex), JSON.stringify(r));
      assert.match(
        r.detail ?? "",
        /sync committee duties not fetched: .*duties\/sync.*(500|sync committee state unavailable)/,
        JSON.stringify(r),
      );
    }
  });
});
