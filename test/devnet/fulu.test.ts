import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {getJson, sleep, spawnDevnet, type RunningDevnet} from "./helpers.js";

describe("devnet-beacon --fork fulu", () => {
  let devnet: RunningDevnet;
  before(async () => {
    devnet = await spawnDevnet([
      "--validators",
      "16",
      "--own",
      "0..15",
      "--slot-ms",
      "1000",
      "--genesis-delay",
      "1",
      "--fork",
      "fulu",
    ]);
  });
  after(async () => devnet?.stop());

  it("runs Fulu from genesis: blocks carry the fulu version and the fork schedule ends with it", async () => {
    await sleep(Math.max(0, devnet.genesisTime * 1000 + 4500 - Date.now()));
    const res = await fetch(`${devnet.url}/eth/v2/beacon/blocks/head`);
    assert.equal(res.headers.get("eth-consensus-version"), "fulu");
    const block = (await res.json()) as {data: {message: {slot: string}}};
    assert.ok(
      Number(block.data.message.slot) >= 3,
      `head slot ${block.data.message.slot}: own proposals should have advanced the chain`,
    );
    const {body} = await getJson<{data: {current_version: string; epoch: string}[]}>(
      `${devnet.url}/eth/v1/config/fork_schedule`,
    );
    assert.equal(body.data.at(-1)?.current_version, "0x06000001");
  });
});
