import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {createCluster, nodeDirName} from "../../../../src/cluster/createCluster.js";
import {IDENTITY_FILE, loadIdentity} from "../../../../src/cluster/identity.js";
import type {ClusterLock} from "../../../../src/cluster/lockSchema.js";
import {type AnyDutyResult, EvmRole} from "../../../../src/roles/evm/evmRole.js";
import {createLogger} from "../../../../src/util/logger.js";
import {BlsPool} from "../../../../src/workers/blsPool.js";
import {tempDir} from "../../../helpers/cli.js";
import {type LodestarNode, startLodestar} from "../../../helpers/lodestar.js";
import {MemoryHub} from "../../../helpers/memoryTransport.js";

interface Finality {
  data: {finalized: {epoch: string}; current_justified: {epoch: string}};
}

type Tagged = AnyDutyResult & {node: number};

/**
 * The duty layer end to end against a real Lodestar (Altair: v1 attestation pool, v2/v1 block routes): the
 * EVM roles of the four operators of a 3-of-4 cluster run interop validators 5..15 of 16 while Lodestar runs
 * 0..4, so Lodestar's chain can only justify with our attestations, and only includes them if our aggregators
 * aggregate. The nodes talk through an in-process hub (the real push network is the store role's, tested with
 * real processes elsewhere); the beacon node, consensus, slashing DB, keys and worker pool are all real.
 */
describe("a 3-of-4 cluster attesting, aggregating and proposing on a real Lodestar", {timeout: 600_000}, () => {
  let dir: string;
  let lodestar: LodestarNode;
  let lock: ClusterLock;
  const pool = new BlsPool({size: 1});
  const roles: EvmRole[] = [];
  const results: Tagged[] = [];

  before(async () => {
    dir = await tempDir();
    ({lock} = await createCluster({nodes: 4, threshold: 3, keys: {kind: "interop", start: 5, count: 11}, network: "devnet", withdrawalAddress: "0x" + "11".repeat(20), kdf: "pbkdf2", out: join(dir, "cluster")}));
    lodestar = await startLodestar({validators: 16, own: "0..4", genesisDelay: 12});
    const hub = new MemoryHub();
    const logger = createLogger("error", "test");
    for (let i = 1; i <= 4; i++) {
      const nodeDir = join(dir, "cluster", nodeDirName(i));
      const {privateKey} = await loadIdentity(join(nodeDir, IDENTITY_FILE));
      const role = new EvmRole({lock, self: i, nodeDir, dataDir: join(dir, `data-${i}`), beaconUrls: [lodestar.url], privateKey, transport: hub.transport(i), pool, logger, onResult: (r) => results.push({...r, node: i})});
      roles.push(role);
    }
    await Promise.all(roles.map((r) => r.start()));
  });

  after(async () => {
    await Promise.all(roles.map((r) => r.stop()));
    await pool.close();
    await lodestar?.stop();
    await rm(dir, {recursive: true, force: true});
  });

  it("Lodestar justifies and finalizes with our attestations, our validators propose their blocks, and their balances rise", async () => {
    let finality: Finality | undefined;
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline) {
      finality = (await fetch(`${lodestar.url}/eth/v1/beacon/states/head/finality_checkpoints`).then((r) => r.json())) as Finality;
      if (Number(finality.data.finalized.epoch) >= 2) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    const summary: Record<string, number> = {};
    for (const r of results) summary[`${r.duty}:${r.status}:${r.reason ?? ""}`] = (summary[`${r.duty}:${r.status}:${r.reason ?? ""}`] ?? 0) + 1;
    const failures = results.filter((r) => r.status === "failed").slice(0, 4);
    assert.ok(Number(finality?.data.finalized.epoch) >= 2, `finalized ${JSON.stringify(finality?.data)}; results ${JSON.stringify(summary)} ${JSON.stringify(failures)}`);

    // Each node reports its own outcome; a duty is done when any node submitted it.
    const attest = results.filter((r) => r.duty === "attester");
    const duties = new Set(attest.map((r) => `${r.slot}/${r.pubkey}`));
    const submitted = new Set(attest.filter((r) => r.status === "submitted").map((r) => `${r.slot}/${r.pubkey}`));
    const missed = [...duties].filter((d) => !submitted.has(d));
    assert.ok(duties.size > 0);
    assert.ok(missed.length <= duties.size * 0.01, `missed ${missed.length} of ${duties.size} attestations: ${JSON.stringify(summary)}`);
    assert.ok(results.some((r) => r.duty === "aggregator" && r.status === "submitted"), "aggregates were published");

    const res = (await fetch(`${lodestar.url}/eth/v1/beacon/states/head/validator_balances?${lock.validators.map((v) => `id=${v.pubkey}`).join("&")}`).then((r) => r.json())) as {data: {balance: string}[]};
    assert.equal(res.data.length, 11);
    for (const b of res.data) assert.ok(Number(b.balance) > 32_000_000_000, `balance ${b.balance} did not rise`);

    // Every slot one of our validators had to propose holds a block by that validator on Lodestar's chain.
    const proposals = results.filter((r) => r.duty === "proposer");
    const ourSlots = [...new Set(proposals.map((p) => p.slot))];
    assert.ok(ourSlots.length > 0, "our validators had proposals in this run");
    for (const slot of ourSlots) {
      const header = (await fetch(`${lodestar.url}/eth/v1/beacon/headers/${slot}`).then((r) => r.json())) as {data?: {header: {message: {proposer_index: string}}}};
      const want = proposals.find((p) => p.slot === slot)!.validatorIndex;
      assert.equal(header.data?.header.message.proposer_index, String(want), `slot ${slot}: ${JSON.stringify(proposals.filter((p) => p.slot === slot))}`);
    }
  });
});
