import "../../../../src/devnet/preset.js";
import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {ssz, type phase0} from "@lodestar/types";
import {FollowerVerdicts} from "../../../../src/roles/evm/followerVerdicts.js";
import {ChainFollower} from "../../../../src/roles/evm/chainFollower.js";
import {toHex} from "../../../../src/hotpath/bytes.js";
import {BeaconNode} from "../../../../src/roles/validator/beacon/beaconNode.js";
import {type GuardedAttestation, HeadGuard} from "../../../../src/roles/validator/verifiedChain/headGuard.js";
import {createLogger} from "../../../../src/util/logger.js";
import {getJson, sleep, spawnDevnet, type RunningDevnet} from "../../../devnet/helpers.js";

/** 2 s slots: the fault's head lasts until 3/4 of its slot, 1.5 s in which the test reads the attestation data. */
const SLOT_MS = 2000;
/** Not an epoch's first or last slot (src/devnetCluster/chaos.ts says why). */
const FAULT_SLOT = 3;

interface InvalidHead {
  slot: number;
  root: string;
  attesters: number[];
  syncMembers: number[];
  childSlots: number[];
}

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("--verify enforce on a devnet whose head turns invalid (invalid_head fault)", {timeout: 90_000}, () => {
  let devnet: RunningDevnet;
  let beacon: BeaconNode;
  let follower: ChainFollower;
  let guard: HeadGuard;
  let invalid: InvalidHead;
  /** The slot's attestation data while the invalid block was the head, and after the valid one was again. */
  let during: phase0.AttestationData;
  let afterwards: phase0.AttestationData;
  let guarded: GuardedAttestation;
  let validRoot: string;

  before(async () => {
    devnet = await spawnDevnet([
      ...["--validators", "64", "--own", "0..63", "--slot-ms", String(SLOT_MS)],
      ...["--genesis-delay", "2", "--log-level", "warn"],
    ]);
    const res = await fetch(`${devnet.url}/r3dv/v1/faults`, {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify({kind: "invalid_head", slot: FAULT_SLOT}),
    });
    assert.equal(res.status, 200, await res.text());
    beacon = await BeaconNode.connect([devnet.url]);
    const verdicts = new FollowerVerdicts();
    follower = new ChainFollower({
      beacons: [{url: devnet.url}],
      config: beacon.config,
      logger: createLogger("error", "test"),
    });
    verdicts.attach(follower);
    await follower.start();
    guard = new HeadGuard(verdicts, {threshold: 3});

    invalid = await until(
      "the devnet's invalid head",
      async () => (await getJson<{data: InvalidHead[]}>(`${devnet.url}/r3dv/v1/invalid_heads`)).body.data[0],
      (FAULT_SLOT + 5) * SLOT_MS,
    );
    during = await beacon.attestationData(FAULT_SLOT, 0);
    guarded = await guard.attestationData(FAULT_SLOT, new Map([[0, during]]), Date.now() + SLOT_MS);
    const slotEnd = devnet.genesisTime * 1000 + (FAULT_SLOT + 1) * SLOT_MS;
    await sleep(slotEnd - Date.now());
    afterwards = await beacon.attestationData(FAULT_SLOT, 0);
    validRoot = toHex(afterwards.beaconBlockRoot);
    // Read again once the slot's votes are in: who signed over the invalid head.
    invalid = (await getJson<{data: InvalidHead[]}>(`${devnet.url}/r3dv/v1/invalid_heads`)).body.data[0] as InvalidHead;
  });

  after(async () => {
    await follower?.stop();
    beacon?.close();
    await devnet?.stop();
  });

  it("the devnet really made the invalid block its head: the slot's attestation data and its own votes named it", () => {
    assert.equal(invalid.slot, FAULT_SLOT);
    assert.equal(toHex(during.beaconBlockRoot), invalid.root, "attestation data read during the fault");
    assert.ok(invalid.attesters.length > 0, "the devnet's own validators voted for it, as a buggy client's would");
    assert.notEqual(validRoot, invalid.root, "the valid block of the slot is the head again after the fault");
  });

  it("the EVM role judges it invalid for its state root, and the valid sibling verified", () => {
    const v = follower.verdict(invalid.root);
    assert.equal(v?.status, "invalid", JSON.stringify(v));
    assert.equal(v?.status === "invalid" && v.reason, "bad_state_root");
    assert.equal(follower.verdict(validRoot)?.status, "verified");
    assert.equal(guard.refusal(invalid.root)?.reason, "head_invalid");
    assert.equal(guard.refusal(validRoot), null);
  });

  it("the guarded vote names the valid block, with the source and target the devnet gives for it", () => {
    assert.ok(!("refused" in guarded), JSON.stringify(guarded));
    if ("refused" in guarded) return;
    assert.equal(guarded.replaced?.from, invalid.root);
    assert.equal(guarded.replaced?.to, validRoot);
    assert.equal(guarded.replaced?.reason, "head_invalid");
    const data = guarded.byCommittee.get(0) as phase0.AttestationData;
    assert.ok(
      ssz.phase0.AttestationData.equals(data, afterwards),
      `${JSON.stringify(ssz.phase0.AttestationData.toJson(data))} vs ${JSON.stringify(ssz.phase0.AttestationData.toJson(afterwards))}`,
    );
  });

  it("a head its beacon node does not serve is unverified, and before any verified block the anchor stands in", async () => {
    const unknown = `0x${"ab".repeat(32)}`;
    const refusal = await guard.settle(unknown, Date.now() + 5000);
    assert.equal(refusal?.reason, "head_unverified");
    assert.match(refusal?.detail ?? "", /could not be verified here \(fetch_failed\)/);
    const choice = await guard.head(unknown, 0, Date.now() + 10);
    assert.ok(!("refused" in choice), JSON.stringify(choice));
    assert.equal(choice.root, follower.anchorInfo?.root, "the trusted genesis anchor, the only block at slot 0");
    assert.equal(choice.replaced?.reason, "head_unverified");
  });
});
