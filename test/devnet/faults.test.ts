import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {getJson, sleep, spawnDevnet, type RunningDevnet} from "./helpers.js";

/** 2 s slots: the late block (held 1.2 s) lands well after the own attesters voted at 667 ms, even on a loaded machine. */
const SLOT_MS = 2000;
type Headers = {data: {root: string; canonical: boolean; header: {message: {slot: string}}}[]};
type Report = {
  data: {
    epochs: {
      validators: {index: number; duty: {slot: number}; included: boolean; correct_head: boolean}[];
      missed_proposals: number[];
    }[];
  };
};

async function postFault(url: string, body: object): Promise<Response> {
  return fetch(`${url}/r3dv/v1/faults`, {
    method: "POST",
    headers: {"content-type": "application/json"},
    body: JSON.stringify(body),
  });
}

describe("devnet-beacon fault injection", () => {
  let devnet: RunningDevnet;
  let skip = 0;
  before(async () => {
    devnet = await spawnDevnet([
      "--validators",
      "16",
      "--own",
      "0..15",
      "--slot-ms",
      String(SLOT_MS),
      "--genesis-delay",
      "1",
    ]);
    await sleep(Math.max(0, devnet.genesisTime * 1000 + 2 * SLOT_MS - Date.now()));
    const current = Math.floor((Date.now() - devnet.genesisTime * 1000) / SLOT_MS);
    skip = current + 3;
    for (const f of [
      {kind: "skip", slot: skip},
      {kind: "late", slot: skip + 1, delay_ms: 1200},
      {kind: "fork", slot: skip + 2},
      {kind: "bad_state_root", slot: skip + 3},
    ]) {
      const res = await postFault(devnet.url, f);
      assert.equal(res.status, 200, await res.text());
    }
    await sleep(devnet.genesisTime * 1000 + (skip + 6) * SLOT_MS - Date.now());
  });
  after(async () => devnet?.stop());

  it("refuses a malformed fault with 400 and what is expected", async () => {
    const res = await postFault(devnet.url, {kind: "meteor", slot: 5});
    assert.equal(res.status, 400);
    assert.match(
      ((await res.json()) as {message: string}).message,
      /kind must be one of skip, late, fork, bad_state_root/,
    );
  });

  it("leaves a skipped slot empty and reports the missed proposal", async () => {
    const {body} = await getJson<Headers>(`${devnet.url}/eth/v1/beacon/headers?slot=${skip}`);
    assert.equal(body.data.length, 0);
    const from = Math.floor(skip / 8);
    const report = await getJson<Report>(`${devnet.url}/r3dv/v1/effectiveness?from_epoch=${from}&to_epoch=${from}`);
    assert.ok(report.body.data.epochs[0]?.missed_proposals.includes(skip));
  });

  it("publishes a late block after the attesters voted, so they miss the head", async () => {
    const late = skip + 1;
    const {body} = await getJson<Headers>(`${devnet.url}/eth/v1/beacon/headers?slot=${late}`);
    assert.equal(body.data.length, 1, "the late block still made it");
    const epoch = Math.floor(late / 8);
    const report = await getJson<Report>(`${devnet.url}/r3dv/v1/effectiveness?from_epoch=${epoch}&to_epoch=${epoch}`);
    const voters = report.body.data.epochs[0]?.validators.filter((v) => v.duty.slot === late) ?? [];
    assert.ok(voters.length > 0);
    for (const v of voters) {
      assert.ok(v.included, `validator ${v.index} vote not included`);
      assert.equal(
        v.correct_head,
        false,
        `validator ${v.index} voted before the late block, its head vote cannot be right`,
      );
    }
  });

  it("forks the head: two competing blocks at one slot, one canonical", async () => {
    const {body} = await getJson<Headers>(`${devnet.url}/eth/v1/beacon/headers?slot=${skip + 2}`);
    assert.equal(body.data.length, 2);
    assert.deepEqual(body.data.map((h) => h.canonical).sort(), [false, true]);
    assert.notEqual(body.data[0]?.root, body.data[1]?.root);
  });

  it("produces a block whose payload claims a wrong state root, and the chain goes on", async () => {
    const block = await getJson<{
      data: {message: {body: {execution_payload: {state_root: string; block_number: string}}}};
    }>(`${devnet.url}/eth/v2/beacon/blocks/${skip + 3}`);
    assert.equal(block.status, 200);
    assert.equal(block.body.data.message.body.execution_payload.state_root, "0x" + "bd".repeat(32));
    const head = await getJson<Headers>(`${devnet.url}/eth/v1/beacon/headers/head`);
    assert.ok(
      Number((head.body.data as unknown as {header: {message: {slot: string}}}).header.message.slot) > skip + 3,
    );
  });
});
