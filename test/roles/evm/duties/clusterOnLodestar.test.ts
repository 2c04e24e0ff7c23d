import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {createCluster, nodeDirName} from "../../../../src/cluster/createCluster.js";
import {IDENTITY_FILE, loadIdentity} from "../../../../src/cluster/identity.js";
import type {ClusterLock} from "../../../../src/cluster/lockSchema.js";
import {BeaconNode} from "../../../../src/roles/evm/beacon/beaconNode.js";
import {type AggregationResult, AggregatorService} from "../../../../src/roles/evm/duties/aggregatorService.js";
import {AttesterService, type DutyResult} from "../../../../src/roles/evm/duties/attesterService.js";
import {type ProposalResult, ProposerService} from "../../../../src/roles/evm/duties/proposerService.js";
import {loadShareKeys} from "../../../../src/roles/evm/duties/shareKeys.js";
import {SignatureExchange} from "../../../../src/roles/evm/duties/signatureExchange.js";
import {QbftDriver} from "../../../../src/roles/evm/qbft/driver.js";
import {ed25519QbftCrypto} from "../../../../src/roles/evm/qbft/ed25519Crypto.js";
import {SlashingProtection} from "../../../../src/storage/slashing/slashingProtection.js";
import {toHex} from "../../../../src/hotpath/bytes.js";
import {createLogger} from "../../../../src/util/logger.js";
import {BlsPool} from "../../../../src/workers/blsPool.js";
import {tempDir} from "../../../helpers/cli.js";
import {type LodestarNode, startLodestar} from "../../../helpers/lodestar.js";
import {MemoryHub} from "../../../helpers/memoryTransport.js";

interface Finality {
  data: {finalized: {epoch: string}; current_justified: {epoch: string}};
}

/**
 * The duty layer end to end against a real Lodestar (Altair, v1 attestation pool): four r3dv attester
 * services, one per operator of a 3-of-4 cluster, run interop validators 5..15 of 16 while Lodestar runs
 * 0..4. Lodestar's chain can only justify with our attestations. The nodes talk through an in-process hub
 * (the real push network is the store role's, tested with real processes); everything else is real.
 */
describe("a 3-of-4 cluster attesting, aggregating and proposing on a real Lodestar", {timeout: 600_000}, () => {
  let dir: string;
  let lodestar: LodestarNode;
  let lock: ClusterLock;
  const pool = new BlsPool({size: 1});
  const services: AttesterService[] = [];
  const proposers: ProposerService[] = [];
  const exchanges: SignatureExchange[] = [];
  const proposals: ProposalResult[] = [];
  const aggregators: AggregatorService[] = [];
  const aggregations: AggregationResult[] = [];
  const drivers: QbftDriver[] = [];
  const dbs: SlashingProtection[] = [];
  const results: DutyResult[] = [];

  before(async () => {
    dir = await tempDir();
    ({lock} = await createCluster({nodes: 4, threshold: 3, keys: {kind: "interop", start: 5, count: 11}, network: "devnet", withdrawalAddress: "0x" + "11".repeat(20), kdf: "pbkdf2", out: join(dir, "cluster")}));
    lodestar = await startLodestar({validators: 16, own: "0..4", genesisDelay: 12});
    const hub = new MemoryHub();
    const logger = createLogger("error", "test");
    for (let i = 1; i <= 4; i++) {
      const nodeDir = join(dir, "cluster", nodeDirName(i));
      const identity = await loadIdentity(join(nodeDir, IDENTITY_FILE));
      const transport = hub.transport(i);
      const beacon = await BeaconNode.connect([lodestar.url]);
      const slashing = SlashingProtection.open(join(dir, `sp-${i}`));
      await slashing.ensureGenesisValidatorsRoot(toHex(beacon.genesisValidatorsRoot));
      dbs.push(slashing);
      // The driver asks the duty services for instance parameters; they are created right after it.
      const duty: {attester?: AttesterService; proposer?: ProposerService; aggregator?: AggregatorService} = {};
      const crypto = ed25519QbftCrypto(identity.privateKey, lock.operators.map((o) => o.peer_id));
      const driver = new QbftDriver(transport, {crypto, n: 4, self: i}, (id) => duty.attester?.instanceConfig(id) ?? duty.proposer?.instanceConfig(id) ?? duty.aggregator?.instanceConfig(id));
      drivers.push(driver);
      const shares = await loadShareKeys(lock, nodeDir, i);
      const exchange = new SignatureExchange(transport, pool, 3, new Set(["randao", "proposer", "selection", "aggregate"]), (s) => Math.abs(s - beacon.currentSlot()) <= 2);
      exchanges.push(exchange);
      duty.aggregator = new AggregatorService({beacon, driver, exchange, shares, n: 4, logger, onResult: (r) => aggregations.push({...r, node: i} as AggregationResult)});
      duty.attester = new AttesterService({
        beacon, transport, driver, slashing, pool, shares, n: 4, threshold: 3, logger,
        onResult: (r) => results.push({...r, node: i} as DutyResult),
        onDecided: (slot, data, duties) => duty.aggregator?.onAttestationDecided(slot, data, duties),
      });
      duty.proposer = new ProposerService({beacon, driver, exchange, slashing, shares, n: 4, logger, onResult: (r) => proposals.push({...r, node: i} as ProposalResult)});
      services.push(duty.attester);
      proposers.push(duty.proposer);
      aggregators.push(duty.aggregator);
    }
    await Promise.all(services.map((s) => s.start()));
    proposers.forEach((p) => p.start());
  });

  after(async () => {
    services.forEach((s) => s.stop());
    proposers.forEach((p) => p.stop());
    aggregators.forEach((a) => a.stop());
    exchanges.forEach((e) => e.stop());
    drivers.forEach((d) => d.stop());
    await Promise.all(dbs.map((d) => d.close()));
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
    const blocks: string[] = [];
    for (let slot = 1; slot <= 24; slot++) {
      const b = (await fetch(`${lodestar.url}/eth/v2/beacon/blocks/${slot}`).then((r) => r.json())) as {data?: {message: {proposer_index: string; body: {attestations: {aggregation_bits: string; data: {slot: string; target: {epoch: string; root: string}}}[]}}}};
      blocks.push(b.data ? `${slot}:p${b.data.message.proposer_index}:${b.data.message.body.attestations.map((a) => `${a.data.slot}/${a.aggregation_bits}`).join(",")}` : `${slot}:-`);
    }
    const summary: Record<string, number> = {};
    for (const r of results) summary[`${r.status}:${r.reason ?? ""}`] = (summary[`${r.status}:${r.reason ?? ""}`] ?? 0) + 1;
    const sample = results.filter((r) => r.status === "failed").slice(0, 3);
    assert.ok(Number(finality?.data.finalized.epoch) >= 2, `finalized ${JSON.stringify(finality?.data)}; results ${JSON.stringify(summary)} ${JSON.stringify(sample)} blocks ${blocks.join(" ")} aggregations ${JSON.stringify(aggregations.filter((a) => a.status !== "not_selected").slice(0, 6))} proposals ${JSON.stringify(proposals.map((p) => [p.slot, p.status, p.reason, p.stages, (p.detail ?? "").slice(0, 150)]))}`);

    const submitted = results.filter((r) => r.status === "submitted");
    const failed = results.filter((r) => r.status === "failed");
    const bySlotValidator = new Set(submitted.map((r) => `${r.slot}/${r.pubkey}`));
    assert.ok(submitted.length > 0);
    // Each node reports its own outcome; what matters is that every duty got submitted by someone.
    const duties = new Set(results.map((r) => `${r.slot}/${r.pubkey}`));
    const missed = [...duties].filter((d) => !bySlotValidator.has(d));
    assert.ok(missed.length <= duties.size * 0.01, `missed ${missed.length} of ${duties.size}: ${JSON.stringify(failed.slice(0, 3))}`);

    const res = (await fetch(`${lodestar.url}/eth/v1/beacon/states/head/validator_balances?${lock.validators.map((v) => `id=${v.pubkey}`).join("&")}`).then((r) => r.json())) as {data: {balance: string}[]};
    assert.equal(res.data.length, 11);
    for (const b of res.data) assert.ok(Number(b.balance) > 32_000_000_000, `balance ${b.balance} did not rise`);

    // Every slot one of our validators had to propose got a block from us, on Lodestar's chain.
    const ourSlots = [...new Set(proposals.map((p) => p.slot))];
    assert.ok(ourSlots.length > 0, "our validators had proposals in this run");
    for (const slot of ourSlots) {
      const header = (await fetch(`${lodestar.url}/eth/v1/beacon/headers/${slot}`).then((r) => r.json())) as {data?: {header: {message: {proposer_index: string}}}};
      const want = proposals.find((p) => p.slot === slot)!.validatorIndex;
      assert.equal(header.data?.header.message.proposer_index, String(want), `slot ${slot}: ${JSON.stringify(proposals.filter((p) => p.slot === slot))}`);
    }
  });
});
