import "../../../src/devnet/preset.js";
import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import type {BeaconConfig} from "@lodestar/config";
import {ChainFollower} from "../../../src/roles/evm/chainFollower.js";
import type {BlockVerdict} from "../../../src/roles/evm/verdict.js";
import {BeaconNode} from "../../../src/roles/validator/beacon/beaconNode.js";
import {createLogger} from "../../../src/util/logger.js";
import {getJson, sleep, spawnDevnet, until, type RunningDevnet} from "../../devnet/helpers.js";
import {BlockTamperProxy} from "../../helpers/blockTamperProxy.js";
import {FaultyProxy} from "../../helpers/faultyProxy.js";

/** 1 s slots: the 12 slots checked (an epoch transition at slot 8 included) take about 15 s of devnet time. */
const SLOT_MS = 1000;
/** The last slot waited for: past the first epoch boundary, so a block with an epoch transition is verified. */
const LAST_SLOT = 12;
/** The fork fault's slot: two blocks there, the follower on events verifies both. */
const FORK_SLOT = 3;
/** The empty slot: the next block is verified on a state advanced through it. */
const SKIP_SLOT = 6;
/** The slot whose block the proxy serves with a broken signature. */
const TAMPER_SLOT = 5;
/** When the late follower starts, from the head's state: before the epoch boundary it must then verify. */
const LATE_SLOT = 7;
/** A beacon node that is down: nothing listens on port 1, so a connection is refused at once. */
const DOWN_URL = "http://127.0.0.1:1";

type Header = {
  root: string;
  canonical: boolean;
  header: {message: {slot: string; parent_root: string; state_root: string}};
};

async function headers(url: string, query: string): Promise<Header[]> {
  return (await getJson<{data: Header[]}>(`${url}/eth/v1/beacon/headers${query}`)).body.data;
}

async function header(url: string, id: string): Promise<Header> {
  return (await getJson<{data: Header}>(`${url}/eth/v1/beacon/headers/${id}`)).body.data;
}

describe("chain follower against a spawned devnet", () => {
  let devnet: RunningDevnet;
  let proxy: BlockTamperProxy;
  let config: BeaconConfig;
  let onEvents: ChainFollower;
  let polling: ChainFollower;
  let late: ChainFollower;
  const lateBootstraps: {root: string; slot: number}[] = [];
  const reported: BlockVerdict[] = [];
  let head: Header;
  /** Every canonical block from the head down to slot 1, newest first. */
  const canonical: Header[] = [];

  before(async () => {
    devnet = await spawnDevnet([
      ...["--validators", "64", "--own", "0..63", "--slot-ms", String(SLOT_MS)],
      ...["--genesis-delay", "2", "--log-level", "warn"],
    ]);
    for (const fault of [
      {kind: "fork", slot: FORK_SLOT},
      {kind: "skip", slot: SKIP_SLOT},
    ]) {
      const res = await fetch(`${devnet.url}/r3dv/v1/faults`, {
        method: "POST",
        headers: {"content-type": "application/json"},
        body: JSON.stringify(fault),
      });
      assert.equal(res.status, 200, await res.text());
    }
    proxy = new BlockTamperProxy(devnet.url, TAMPER_SLOT);
    await proxy.start();
    const beacon = await BeaconNode.connect([devnet.url]);
    config = beacon.config;
    beacon.close();
    const logger = createLogger("error", "test");
    onEvents = new ChainFollower({
      beacons: [{url: devnet.url}],
      config,
      logger,
      events: {verdict: (v) => reported.push(v)},
    });
    polling = new ChainFollower({beacons: [{url: proxy.url}], config, logger, watch: {events: false}});
    await Promise.all([onEvents.start(), polling.start()]);
    await until(
      `the devnet's head to reach slot ${LATE_SLOT}`,
      async () => Number((await headers(devnet.url, ""))[0]?.header.message.slot) >= LATE_SLOT,
      (LATE_SLOT + 10) * SLOT_MS,
    );
    // Its first beacon node is down (nothing listens on port 1): the state and every block come from the second.
    late = new ChainFollower({
      beacons: [{url: DOWN_URL}, {url: devnet.url}],
      config,
      logger,
      anchor: "head",
      events: {bootstrap: (a) => lateBootstraps.push(a)},
    });
    await late.start();

    await until(
      `the devnet's head to reach slot ${LAST_SLOT}`,
      async () => Number((await headers(devnet.url, ""))[0]?.header.message.slot) >= LAST_SLOT,
      (LAST_SLOT + 10) * SLOT_MS,
    );
    head = (await headers(devnet.url, ""))[0] as Header;
    for (let h = head; Number(h.header.message.slot) > 0; h = await header(devnet.url, h.header.message.parent_root))
      canonical.push(h);
    // Both followers have judged the head by the time the test looks (a slot or two after it was announced).
    await until(
      "the followers to judge the head",
      () => !!onEvents.verdict(head.root) && !!polling.verdict(head.root) && !!late.verdict(head.root),
      10 * SLOT_MS,
    );
  });

  after(async () => {
    await Promise.all([onEvents?.stop(), polling?.stop(), late?.stop()]);
    await proxy?.stop();
    await devnet?.stop();
  });

  it("bootstraps on the genesis block (the finalized checkpoint of a young chain)", async () => {
    assert.equal(onEvents.anchorInfo?.slot, 0);
    assert.equal(onEvents.anchorInfo?.root, (await header(devnet.url, "genesis")).root);
  });

  it("verifies every block of the chain, on events: the canonical ones with the chain's state roots, and the fork's sibling", async () => {
    assert.ok(canonical.length >= LAST_SLOT - 2, `${canonical.length} canonical blocks`);
    assert.ok(!canonical.some((h) => Number(h.header.message.slot) === SKIP_SLOT), "the skipped slot is empty");
    for (const h of canonical) {
      const v = onEvents.verdict(h.root);
      assert.equal(v?.status, "verified", `slot ${h.header.message.slot}: ${JSON.stringify(v)}`);
      assert.equal(v?.status === "verified" && v.stateRoot, h.header.message.state_root);
    }
    const siblings = (await headers(devnet.url, `?slot=${FORK_SLOT}`)).filter((h) => !h.canonical);
    assert.equal(siblings.length, 1, "the fork fault made a second block");
    assert.equal(onEvents.verdict(siblings[0]?.root as string)?.status, "verified", "a block off the head's branch");
    // Every block up to the head, and nothing else: as many verdicts as the chain has blocks, all verified.
    let all = 0;
    for (let s = 1; s <= Number(head.header.message.slot); s++) all += (await headers(devnet.url, `?slot=${s}`)).length;
    const upToHead = reported.filter((v) => (v.slot ?? Infinity) <= Number(head.header.message.slot));
    assert.equal(upToHead.length, all, JSON.stringify(upToHead.map((v) => [v.slot, v.status])));
    assert.ok(upToHead.every((v) => v.status === "verified"));
  });

  it("on head polls only, through a node serving one block with a broken signature: that block is invalid, and so is every block built on it", () => {
    assert.ok(proxy.tampered >= 1, "the proxy served the tampered block");
    for (const h of canonical) {
      const slot = Number(h.header.message.slot);
      const v = polling.verdict(h.root);
      if (slot < TAMPER_SLOT) {
        assert.equal(v?.status, "verified", `slot ${slot}: ${JSON.stringify(v)}`);
        assert.equal(v?.status === "verified" && v.stateRoot, h.header.message.state_root);
      } else {
        assert.equal(v?.status, "invalid", `slot ${slot}: ${JSON.stringify(v)}`);
        const reason = v?.status === "invalid" ? v.reason : "";
        assert.equal(reason, slot === TAMPER_SLOT ? "bad_signature" : "bad_parent", `slot ${slot}`);
      }
    }
  });

  it("started late from a head state with its first beacon node down, names its anchor from the state itself and verifies every block after it from the second", async () => {
    const anchor = late.anchorInfo;
    assert.ok(anchor && anchor.slot >= LATE_SLOT, JSON.stringify(anchor));
    const block = canonical.find((h) => Number(h.header.message.slot) === anchor.slot);
    assert.equal(anchor.root, block?.root, "the root derived from the state's latest header is the block's");
    const after = canonical.filter((h) => Number(h.header.message.slot) > anchor.slot);
    assert.ok(after.length >= 3, `${after.length} blocks after the anchor`);
    for (const h of after) {
      const v = late.verdict(h.root);
      assert.equal(v?.status === "verified" && v.stateRoot, h.header.message.state_root, JSON.stringify(v));
    }
  });

  it("bootstraps again for a block below its anchor, then calls it unavailable (no state to check it on)", async () => {
    const sibling = (await headers(devnet.url, `?slot=${FORK_SLOT}`)).find((h) => !h.canonical) as Header;
    assert.equal(lateBootstraps.length, 1);
    late.follow(sibling.root);
    await late.idle();
    const v = late.verdict(sibling.root);
    assert.equal(v?.status, "unavailable", JSON.stringify(v));
    assert.equal(v?.status === "unavailable" && v.reason, "no_parent_state");
    assert.equal(lateBootstraps.length, 2, "one fresh anchor was tried before giving up");
  });

  it("stops at once while its bootstrap state download hangs, and starts nothing after", async () => {
    const hanging = new FaultyProxy(devnet.url);
    hanging.mode = "timeout";
    hanging.faultOnly = /\/debug\/beacon\/states\//;
    await hanging.start();
    const stuck = new ChainFollower({beacons: [{url: hanging.url}], config, logger: createLogger("error", "test")});
    try {
      const started = stuck.start();
      await sleep(300);
      // The download's own timeout is 5 minutes: a stop that waited for it would lose this race.
      const stopped = Promise.all([stuck.stop(), started]).then(() => "stopped");
      const outcome = await Promise.race([stopped, sleep(5000).then(() => "still waiting")]);
      assert.equal(outcome, "stopped");
      const polledBefore = hanging.passed;
      await sleep(2 * SLOT_MS);
      assert.equal(hanging.passed, polledBefore, "no head poll after the stop");
    } finally {
      await hanging.stop();
    }
  });
});
