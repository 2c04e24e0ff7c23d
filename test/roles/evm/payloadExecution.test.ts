import "../../../src/devnet/preset.js";
import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {ChainFollower} from "../../../src/roles/evm/chainFollower.js";
import type {BlockVerdict} from "../../../src/roles/evm/verdict.js";
import {BeaconNode} from "../../../src/roles/validator/beacon/beaconNode.js";
import {createLogger} from "../../../src/util/logger.js";
import {getJson, spawnDevnet, until, type RunningDevnet} from "../../devnet/helpers.js";
import {WitnessTamperProxy} from "../../helpers/witnessTamperProxy.js";

/** 2 s slots: a third of one (the execution budget) holds three followers re-executing on this 2-core machine. */
const SLOT_MS = 2000;
/** The slot whose payload the devnet makes claim a wrong state root (its hash recomputed over it). */
const BAD_PAYLOAD_SLOT = 4;
/** The slot where the devnet makes a sibling whose payload carries a transaction that cannot run its head. */
const FAILING_TX_SLOT = 2;
const LAST_SLOT = 7;

type Header = {root: string; header: {message: {slot: string; parent_root: string}}};

async function rpc(
  url: string,
  method: string,
  params: unknown[],
): Promise<{result?: unknown; error?: {code: number; message: string}}> {
  const res = await fetch(url, {
    method: "POST",
    headers: {"content-type": "application/json"},
    body: JSON.stringify({jsonrpc: "2.0", id: 1, method, params}),
  });
  return (await res.json()) as {result?: unknown; error?: {code: number; message: string}};
}

describe("payload re-execution (the EVM role's execution half) against a spawned devnet's execution JSON-RPC", () => {
  let devnet: RunningDevnet;
  let executionUrl: string;
  let proxy: WitnessTamperProxy;
  let executing: ChainFollower;
  let lied: ChainFollower;
  let consensusOnly: ChainFollower;
  /** The canonical chain from the head down to slot 1, newest first. */
  const canonical: {root: string; slot: number}[] = [];

  before(async () => {
    devnet = await spawnDevnet([
      ...["--validators", "64", "--own", "0..63", "--slot-ms", String(SLOT_MS)],
      ...["--genesis-delay", "2", "--log-level", "warn"],
    ]);
    executionUrl = `${devnet.url}/r3dv/v1/execution`;
    for (const fault of [
      {kind: "bad_state_root", slot: BAD_PAYLOAD_SLOT},
      {kind: "invalid_tx_head", slot: FAILING_TX_SLOT},
    ]) {
      const res = await fetch(`${devnet.url}/r3dv/v1/faults`, {
        method: "POST",
        headers: {"content-type": "application/json"},
        body: JSON.stringify(fault),
      });
      assert.equal(res.status, 200, await res.text());
    }
    proxy = new WitnessTamperProxy(executionUrl);
    await proxy.start();
    const beacon = await BeaconNode.connect([devnet.url]);
    const config = beacon.config;
    beacon.close();
    const logger = createLogger("error", "test");
    executing = new ChainFollower({beacons: [{url: devnet.url}], config, logger, executionRpc: executionUrl});
    lied = new ChainFollower({beacons: [{url: devnet.url}], config, logger, executionRpc: proxy.url});
    consensusOnly = new ChainFollower({beacons: [{url: devnet.url}], config, logger});
    await Promise.all([executing.start(), lied.start(), consensusOnly.start()]);
    await until(
      `the devnet's head to reach slot ${LAST_SLOT}`,
      async () =>
        Number(
          (await getJson<{data: Header[]}>(`${devnet.url}/eth/v1/beacon/headers`)).body.data[0]?.header.message.slot,
        ) >= LAST_SLOT,
      (LAST_SLOT + 10) * SLOT_MS,
    );
    let h = (await getJson<{data: Header[]}>(`${devnet.url}/eth/v1/beacon/headers`)).body.data[0] as Header;
    while (Number(h.header.message.slot) > 0) {
      canonical.push({root: h.root, slot: Number(h.header.message.slot)});
      h = (await getJson<{data: Header}>(`${devnet.url}/eth/v1/beacon/headers/${h.header.message.parent_root}`)).body
        .data;
    }
    const head = canonical[0]?.root as string;
    await until(
      "the followers to judge the head",
      () => [executing, lied, consensusOnly].every((f) => f.verdict(head) !== undefined),
      10 * SLOT_MS,
    );
  });

  after(async () => {
    await Promise.all([executing?.stop(), lied?.stop(), consensusOnly?.stop()]);
    await proxy?.stop();
    await devnet?.stop();
  });

  it("serves the execution JSON-RPC a verifier reads: chain id, blocks, balances, code, storage, proofs; errors say why", async () => {
    assert.equal((await rpc(executionUrl, "eth_chainId", [])).result, "0x539");
    const latest = (await rpc(executionUrl, "eth_getBlockByNumber", ["latest", false])).result as Record<
      string,
      string
    >;
    assert.match(latest.hash ?? "", /^0x[0-9a-f]{64}$/);
    const byHash = (await rpc(executionUrl, "eth_getBlockByHash", [latest.hash, false])).result as Record<
      string,
      string
    >;
    assert.equal(byHash.number, latest.number);
    const parent = (
      await rpc(executionUrl, "eth_getBlockByNumber", [`0x${(Number(latest.number) - 1).toString(16)}`, false])
    ).result as Record<string, string>;
    assert.equal(parent.hash, latest.parentHash);
    const proof = (await rpc(executionUrl, "eth_getProof", [latest.miner, ["0x0"], {blockHash: latest.hash}]))
      .result as {
      accountProof: string[];
      storageProof: unknown[];
      balance: string;
    };
    assert.ok(proof.accountProof.length > 0);
    assert.equal(proof.storageProof.length, 1);
    assert.equal(
      (await rpc(executionUrl, "eth_getBalance", [latest.miner, {blockHash: latest.hash}])).result,
      proof.balance,
    );
    assert.equal((await rpc(executionUrl, "eth_getCode", [latest.miner, "latest"])).result, "0x");
    assert.equal(
      (await rpc(executionUrl, "eth_getStorageAt", [latest.miner, "0x0", "latest"])).result,
      `0x${"00".repeat(32)}`,
    );
    const witness = (await rpc(executionUrl, "debug_executionWitness", [latest.hash])).result as {keys: string[]};
    assert.ok(witness.keys.includes(latest.miner?.toLowerCase() ?? ""), "the fee recipient is touched");
    assert.ok(
      witness.keys.every((k) => /^0x([0-9a-f]{40}|[0-9a-f]{64})$/.test(k)),
      JSON.stringify(witness.keys),
    );
    assert.deepEqual((await rpc(executionUrl, "eth_sendRawTransaction", ["0x00"])).error?.code, -32601);
    assert.match(
      (await rpc(executionUrl, "eth_getBalance", ["0x1234", "latest"])).error?.message ?? "",
      /not a 20-byte 0x address/,
    );
    assert.match(
      (await rpc(executionUrl, "eth_getBlockByNumber", ["0xffff", false])).error?.message ?? "",
      /no canonical block 0xffff/,
    );
  });

  it("re-executes every canonical payload to the same roots, and finds the one claiming a wrong state root invalid", () => {
    const verdicts = canonical.map((b) => ({slot: b.slot, v: executing.verdict(b.root) as BlockVerdict}));
    for (const {slot, v} of verdicts) {
      if (slot < BAD_PAYLOAD_SLOT) {
        assert.equal(v.status, "verified", JSON.stringify(v));
        assert.equal(v.status === "verified" && v.executed, true, "re-executed, not taken as given");
        assert.ok(v.status === "verified" && (v.timings.executionMs ?? -1) > 0);
      } else if (slot === BAD_PAYLOAD_SLOT) {
        assert.equal(v.status === "invalid" && v.reason, "bad_payload", JSON.stringify(v));
        assert.match(v.status === "invalid" ? v.detail : "", /stateRoot/i);
      } else {
        assert.equal(v.status === "invalid" && v.reason, "bad_parent", `slot ${slot}: ${JSON.stringify(v)}`);
      }
    }
    assert.ok(
      verdicts.some((x) => x.slot > BAD_PAYLOAD_SLOT),
      "blocks were built on the bad payload",
    );
  });

  it("finds a head whose payload carries a transaction that cannot run invalid, its hashes and state root all right", async () => {
    const heads = (await getJson<{data: {root: string; slot: number}[]}>(`${devnet.url}/r3dv/v1/invalid_heads`)).body
      .data;
    const failing = heads.find((h) => h.slot === FAILING_TX_SLOT);
    assert.ok(failing, JSON.stringify(heads));
    const v = executing.verdict(failing.root);
    assert.equal(v?.status === "invalid" && v.reason, "bad_payload", JSON.stringify(v));
    assert.match(v?.status === "invalid" ? v.detail : "", /enough funds|balance/i);
    const consensus = consensusOnly.verdict(failing.root);
    assert.equal(consensus?.status, "verified", `consensus alone cannot tell: ${JSON.stringify(consensus)}`);
  });

  it("without an execution endpoint the same payload passes consensus: what re-execution adds", () => {
    const bad = canonical.find((b) => b.slot === BAD_PAYLOAD_SLOT);
    const v = consensusOnly.verdict(bad?.root ?? "");
    assert.equal(v?.status, "verified", JSON.stringify(v));
    assert.equal(v?.status === "verified" && v.executed, undefined);
  });

  it("an endpoint whose proofs do not hash to the parent's state root leaves every block unverified, never valid", () => {
    assert.ok(proxy.tampered > 0, "the lying endpoint was asked");
    for (const b of canonical.filter((x) => x.slot < BAD_PAYLOAD_SLOT)) {
      const v = lied.verdict(b.root);
      assert.equal(v?.status, "unavailable", JSON.stringify(v));
      assert.equal(v?.status === "unavailable" && v.reason, "bad_witness");
      assert.match(v?.status === "unavailable" ? v.detail : "", /state root 0x[0-9a-f]{64}, the parent payload's is/);
    }
  });

  it("executes a block left unverified again when it is asked about, once the endpoint answers honestly", async () => {
    const block = canonical.find((b) => b.slot === BAD_PAYLOAD_SLOT - 1) as {root: string; slot: number};
    assert.equal(lied.verdict(block.root)?.status, "unavailable");
    proxy.lying = false;
    lied.follow(block.root);
    await lied.idle();
    const v = lied.verdict(block.root);
    assert.equal(v?.status === "verified" && v.executed, true, JSON.stringify(v));
  });
});
