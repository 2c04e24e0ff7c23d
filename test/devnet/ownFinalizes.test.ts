import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {getJson, sleep, spawnDevnet, type RunningDevnet} from "./helpers.js";

type Checkpoints = {data: {finalized: {epoch: string; root: string}; current_justified: {epoch: string}}};
type Report = {data: {epochs: {epoch: number; validators: {index: number; included: boolean; correct_target: boolean; inclusion_delay: number | null}[]; missed_proposals: number[]}[]}};

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
    const {body: fin} = await getJson<{data: {header: {message: {slot: string}}}}>(`${devnet.url}/eth/v1/beacon/headers/finalized`);
    assert.equal(Number(fin.data.header.message.slot) % 8, 0, "the finalized checkpoint block is an epoch boundary block");
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
    const report = await getJson<{code: number; message: string}>(`${devnet.url}/r3dv/v1/effectiveness?from_epoch=3&to_epoch=1`);
    assert.equal(report.status, 400);
  });
});
