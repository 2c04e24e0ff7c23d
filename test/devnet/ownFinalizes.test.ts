import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {getJson, sleep, spawnDevnet, type RunningDevnet} from "./helpers.js";

type Checkpoints = {data: {finalized: {epoch: string; root: string}; current_justified: {epoch: string}}};
type Report = {
  data: {
    epochs: {
      epoch: number;
      validators: {index: number; included: boolean; correct_target: boolean; inclusion_delay: number | null}[];
      missed_proposals: number[];
    }[];
  };
};

describe("devnet-beacon --own 0..N-1 alone", () => {
  let devnet: RunningDevnet;
  before(async () => {
    devnet = await spawnDevnet(["--validators", "16", "--own", "0..15", "--slot-ms", "1000", "--genesis-delay", "1"]);
  });
  after(async () => devnet?.stop());

  it("justifies and finalizes the chain with no client at all", async () => {
    // 6 epochs of 8 one-second slots: finality normally lands at the start of epoch 4.
    const deadline = Date.now() + 60_000;
    let finalized = 0;
    while (Date.now() < deadline && finalized < 2) {
      await sleep(1000);
      const {body} = await getJson<Checkpoints>(`${devnet.url}/eth/v1/beacon/states/head/finality_checkpoints`);
      finalized = Number(body.data.finalized.epoch);
    }
    assert.ok(finalized >= 2, `finalized epoch ${finalized} after a minute; stderr: ${devnet.stderr().slice(-2000)}`);
    const {body: fin} = await getJson<{data: {header: {message: {slot: string}}}}>(
      `${devnet.url}/eth/v1/beacon/headers/finalized`,
    );
    assert.equal(
      Number(fin.data.header.message.slot) % 8,
      0,
      "the finalized checkpoint block is an epoch boundary block",
    );
  });

  it("reports every own attestation included with the correct target", async () => {
    const {body} = await getJson<Report>(`${devnet.url}/r3dv/v1/effectiveness?from_epoch=1&to_epoch=2`);
    assert.equal(body.data.epochs.length, 2);
    for (const e of body.data.epochs) {
      assert.equal(e.validators.length, 16);
      for (const v of e.validators) {
        assert.ok(v.included, `validator ${v.index} epoch ${e.epoch} not included`);
        assert.ok(v.correct_target, `validator ${v.index} epoch ${e.epoch} wrong target`);
        assert.ok((v.inclusion_delay as number) >= 1);
      }
      assert.deepEqual(e.missed_proposals, []);
    }
  });

  it("speaks the Beacon API: consensus version header, 404 and 400 in its error format", async () => {
    const block = await fetch(`${devnet.url}/eth/v2/beacon/blocks/head`);
    assert.equal(block.status, 200);
    assert.equal(block.headers.get("eth-consensus-version"), "electra");
    await block.arrayBuffer();
    const missing = await getJson<{code: number; message: string}>(`${devnet.url}/eth/v1/no/such/route`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 404);
    assert.match(missing.body.message, /not found/);
    const badId = await getJson<{code: number; message: string}>(`${devnet.url}/eth/v1/beacon/headers/notablock`);
    assert.equal(badId.status, 400);
    assert.match(badId.body.message, /invalid block id/);
    const report = await getJson<{code: number; message: string}>(
      `${devnet.url}/r3dv/v1/effectiveness?from_epoch=3&to_epoch=1`,
    );
    assert.equal(report.status, 400);
    // The clock's slot, not the head's: a message more than a slot old is refused for age before its signature is checked.
    const slot = Math.floor((Date.now() - devnet.genesisTime * 1000) / 1000);
    // Sync committee seats are drawn from the genesis randao, which differs per run: forge for a member, not validator 0.
    const committee = await getJson<{data: {validators: string[]}}>(
      `${devnet.url}/eth/v1/beacon/states/head/sync_committees`,
    );
    const member = committee.body.data.validators[0];
    // A root no validator signed: a copy of the devnet's own validators' (slot, validator, root) is "already known"
    // and accepted before any signature check, as gossip does.
    const forged = {
      slot: String(slot),
      beacon_block_root: "0x" + "cd".repeat(32),
      validator_index: member,
      signature: "0x" + "ab".repeat(96),
    };
    const sync = await fetch(`${devnet.url}/eth/v1/beacon/pool/sync_committees`, {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify([forged]),
    });
    assert.equal(sync.status, 400);
    const syncBody = (await sync.json()) as {message: string};
    assert.match(syncBody.message, /index 0: .*signature/, syncBody.message);
  });

  it("executes real payloads: transactions, gas, logs and withdrawals of rewards above 32 ETH", async () => {
    type Payload = {
      block_number: string;
      gas_used: string;
      transactions: string[];
      withdrawals: unknown[];
      logs_bloom: string;
      state_root: string;
    };
    const {body} = await getJson<{data: {message: {slot: string; body: {execution_payload: Payload}}}}>(
      `${devnet.url}/eth/v2/beacon/blocks/head`,
    );
    const p = body.data.message.body.execution_payload;
    assert.equal(p.transactions.length, 4);
    assert.ok(Number(p.gas_used) > 4 * 21000);
    assert.notEqual(p.logs_bloom, "0x" + "00".repeat(256));
    assert.ok(Number(p.block_number) > 0 && Number(p.block_number) <= Number(body.data.message.slot));
    assert.ok(p.withdrawals.length > 0, "balances above 32 ETH with 0x01 credentials are swept every block");
  });

  it("serves the read endpoints a validator client calls", async () => {
    for (const path of [
      "/eth/v1/config/spec",
      "/eth/v1/config/deposit_contract",
      "/eth/v1/node/version",
      "/eth/v1/node/identity",
      "/eth/v1/node/peer_count",
      "/eth/v1/beacon/states/head/root",
      "/eth/v1/beacon/states/head/fork",
      "/eth/v1/beacon/states/head/validators?id=0,1",
      "/eth/v1/beacon/states/head/committees",
      "/eth/v1/beacon/states/head/sync_committees",
      "/eth/v1/beacon/blocks/head/root",
      "/eth/v1/validator/duties/proposer/1",
    ]) {
      const res = await fetch(devnet.url + path);
      assert.equal(res.status, 200, `${path}: ${await res.text()}`);
      await res.arrayBuffer().catch(() => undefined);
    }
    const health = await fetch(`${devnet.url}/eth/v1/node/health`);
    assert.equal(health.status, 200);
    const vals = await fetch(`${devnet.url}/eth/v1/beacon/states/head/validators`, {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify({ids: ["3"]}),
    });
    const v = (await vals.json()) as {data: {index: string; status: string}[]};
    assert.deepEqual(
      v.data.map((x) => [x.index, x.status]),
      [["3", "active_ongoing"]],
    );
    const rewards = await fetch(`${devnet.url}/eth/v1/beacon/rewards/attestations/1`, {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: "[]",
    });
    const r = (await rewards.json()) as {data: {total_rewards: {validator_index: string; target: string}[]}};
    assert.equal(rewards.status, 200, JSON.stringify(r));
    assert.equal(r.data.total_rewards.length, 16);
    assert.ok(
      r.data.total_rewards.every((t) => Number(t.target) > 0),
      "every validator earned its target reward in epoch 1",
    );
  });

  it("streams head and block events over SSE", async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${devnet.url}/eth/v1/events?topics=head,block`, {signal: ctrl.signal});
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    const deadline = Date.now() + 10_000;
    try {
      while (Date.now() < deadline && !(text.includes("event: head") && text.includes("event: block"))) {
        const {value, done} = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    } finally {
      ctrl.abort();
    }
    assert.match(text, /event: head\ndata: \{"slot":"\d+","block":"0x[0-9a-f]{64}"/);
    assert.match(text, /event: block/);
  });
});
