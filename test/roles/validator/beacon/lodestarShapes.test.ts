import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {after, describe, it} from "node:test";
import {fromHex, toHex} from "../../../../src/hotpath/bytes.js";
import {BeaconNode} from "../../../../src/roles/validator/beacon/beaconNode.js";
import {BeaconError} from "../../../../src/roles/validator/beacon/errors.js";
import {DutyTimers} from "../../../../src/roles/validator/schedule/dutyClock.js";
import {poolReadFailure} from "../../../../src/roles/validator/tracking/outcome.js";
import {readFromPool} from "../../../../src/roles/validator/beacon/poolRead.js";
import {
  type Answer,
  HEAD,
  HEAD_SLOT,
  MISSING_BLOCK_SLOT,
  RECORDED,
  recordedNode,
} from "../../../helpers/recordedLodestar.js";

/** Every read a duty makes, with what each must yield from the recorded chain. */
async function readEveryDuty(bn: BeaconNode): Promise<{dependentRoots: string[]}> {
  const head = await bn.headBlock();
  assert.equal(head.slot, HEAD_SLOT);
  assert.equal(toHex(head.root), HEAD.data.root);
  const attester = await bn.attesterDuties(0, [5, 6, 7]);
  assert.deepEqual(
    attester.duties.map((d) => d.validatorIndex),
    [5, 6, 7],
  );
  assert.ok(
    attester.duties.every((d) => d.committeeLength === 2 && d.committeesAtSlot === 1 && d.validatorCommitteeIndex < 2),
  );
  const proposer = await bn.proposerDuties(0);
  assert.equal(proposer.duties.length, 8);
  const sync = await bn.syncCommitteeDuties(0, [5, 6]);
  assert.deepEqual(
    sync.map((d) => [d.validatorIndex, d.validatorSyncCommitteeIndices]),
    [
      [5, [6, 22]],
      [6, [5, 21]],
    ],
  );
  const data = await bn.attestationData(HEAD_SLOT, 0);
  assert.equal(toHex(data.beaconBlockRoot), HEAD.data.root);
  const contribution = await bn.syncCommitteeContribution(HEAD_SLOT, 0, head.root);
  assert.equal(contribution.aggregationBits.getTrueBitIndexes().length, 8);
  // Recorded without `slot`: 1.5.1 labels every committee of the epoch slot 0 (and answers [] when given a slot).
  const committees = await bn.committeesAt(0);
  assert.deepEqual([...committees.keys()], [0, 1, 2, 3, 4, 5, 6, 7]);
  const attestations = await bn.blockAttestations(HEAD_SLOT);
  assert.ok(attestations && attestations.length > 0);
  assert.equal(
    await bn.blockAttestations(MISSING_BLOCK_SLOT),
    null,
    "a slot without a block is an answer, not a failure",
  );
  const aggregate = await bn.aggregateAttestation(HEAD_SLOT - 1, new Uint8Array(32), 0);
  assert.equal(aggregate.data.slot, HEAD_SLOT - 1);
  const produced = await bn.blocks.produceBlock(HEAD_SLOT + 1, new Uint8Array(96), "r3dv");
  assert.equal(produced.fork, "altair");
  assert.equal(produced.block.slot, HEAD_SLOT + 1);
  return {dependentRoots: [attester.dependentRoot, proposer.dependentRoot]};
}

const nodes: {close(): Promise<void>}[] = [];
const clients: BeaconNode[] = [];
/** A client of a node answering as the recording did, after `edit`; closed when the file's tests end. */
async function connect(edit?: (key: string, a: Answer | undefined) => Answer | undefined): Promise<BeaconNode> {
  const node = await recordedNode(edit);
  nodes.push(node);
  const bn = await BeaconNode.connect([node.url]);
  clients.push(bn);
  return bn;
}
after(async () => {
  for (const c of clients) c.close();
  await Promise.all(nodes.map((n) => n.close()));
});

describe("beacon node client on the answers of a real Lodestar 1.5.1", () => {
  it("reads every answer a duty needs, as that Lodestar sends it (no `finalized`, extra `canonical`)", async () => {
    const {dependentRoots} = await readEveryDuty(await connect());
    const recordedRoot = (RECORDED["/eth/v1/validator/duties/attester/{n}"]?.body as {dependent_root: string})
      .dependent_root;
    assert.equal(dependentRoots[0], recordedRoot);
  });

  it("neither missing nor unknown metadata fails a duty; without dependent_root the duties themselves key the cache", async () => {
    const bareData = (_key: string, a: Answer | undefined) =>
      a && {status: a.status, body: {data: a.body.data, some_future_field: {x: 1}}};
    const bn = await connect(bareData);
    const {dependentRoots} = await readEveryDuty(bn);
    for (const r of dependentRoots) assert.match(r, /^duties:[0-9a-f]{64}$/);
    assert.equal(
      (await bn.attesterDuties(0, [5, 6, 7])).dependentRoot,
      dependentRoots[0],
      "the same duties give the same key",
    );
    assert.notEqual(
      (await bn.attesterDuties(0, [5, 6])).dependentRoot,
      dependentRoots[0],
      "other duties give another key",
    );
  });

  it("a dependent_root that is not a root (an object, as the embedded devnet sent) keys by the duties too", async () => {
    const bn = await connect((key, a) =>
      a && key.includes("/duties/") ? {...a, body: {...a.body, dependent_root: {0: 56, 1: 161}}} : a,
    );
    assert.match((await bn.attesterDuties(0, [5, 6, 7])).dependentRoot, /^duties:[0-9a-f]{64}$/);
    assert.match((await bn.proposerDuties(0)).dependentRoot, /^duties:[0-9a-f]{64}$/);
  });

  it("a body without what the duty needs fails with a typed error naming the node, the route and the field", async () => {
    const broken = new Map<string, (a: Answer) => void>([
      ["/eth/v1/beacon/headers/head", (a) => delete (a.body.data as Record<string, unknown>).root],
      ["/eth/v1/validator/attestation_data", (a) => delete (a.body.data as Record<string, unknown>).target],
      ["/eth/v1/validator/duties/sync/{n}", (a) => delete a.body.data],
      ["/eth/v2/validator/blocks/{n}", (a) => (a.body.version = "phase0")],
    ]);
    const bn = await connect((key, a) => (a && broken.get(key)?.(a), a));
    const typed = (route: RegExp, why: RegExp) => (e: unknown) => {
      assert.ok(e instanceof BeaconError, String(e));
      assert.equal(e.code, "BEACON_BAD_RESPONSE");
      assert.match(e.message, route);
      assert.match(e.message, why);
      return true;
    };
    await assert.rejects(bn.headBlock(), typed(/headers\/head/, /data\.root/));
    await assert.rejects(
      bn.attestationData(HEAD_SLOT, 0),
      typed(/attestation_data/, /unreadable attestation data.*target/i),
    );
    await assert.rejects(bn.syncCommitteeDuties(0, [5]), typed(/duties\/sync\/0/, /invalid body: data/));
    await assert.rejects(
      bn.blocks.produceBlock(HEAD_SLOT + 1, new Uint8Array(96), "r3dv"),
      typed(/validator\/blocks/, /phase0 format/),
    );
  });
});

describe("an empty pool as Lodestar 1.5.1 answers it (HTTP 500 where the Beacon API says 404)", () => {
  const POOL_ROUTES = ["/eth/v1/validator/aggregate_attestation", "/eth/v1/validator/sync_committee_contribution"];
  /** A recorded node whose pool routes answer `empty(key)` (the recorded empty answer, or another) while it says so. */
  const connectEmpty = (empty: (key: string) => Answer | undefined) =>
    connect((key, a) => (POOL_ROUTES.includes(key) ? (empty(key) ?? a) : a));
  const isRefusal = (e: unknown) => {
    assert.ok(e instanceof BeaconError, String(e));
    assert.equal(e.code, "BEACON_REFUSED");
    assert.match(e.message, /nothing in its pool/);
    assert.equal(poolReadFailure(e), "pool_empty");
    return true;
  };

  it("is a refusal (pool_empty): the node is not benched, and a read asked again gets what the pool holds a moment later", async () => {
    let emptyAnswers = 2;
    const bn = await connectEmpty((key) => (emptyAnswers-- > 0 ? RECORDED[`${key} 500 empty`] : undefined));
    await assert.rejects(bn.aggregateAttestation(HEAD_SLOT - 1, new Uint8Array(32), 0), isRefusal);
    await assert.rejects(bn.syncCommitteeContribution(HEAD_SLOT, 0, fromHex(HEAD.data.root)), isRefusal);
    assert.deepEqual(
      bn.set.status().map((s) => s.health),
      ["healthy"],
      "an empty pool says nothing about the node's health",
    );
    emptyAnswers = 1;
    const timers = new DutyTimers();
    const contribution = await readFromPool(() => bn.syncCommitteeContribution(HEAD_SLOT, 0, fromHex(HEAD.data.root)), {
      everyMs: 5,
      untilMs: Date.now() + 5_000,
      timers,
    });
    assert.equal(contribution.aggregationBits.getTrueBitIndexes().length, 8);
    timers.stop();
  });

  it("any other HTTP 500 on those routes still counts against the node", async () => {
    const bn = await connectEmpty(() => ({
      status: 500,
      body: {statusCode: 500, error: "Internal Server Error", message: "Cannot read properties of undefined"},
    }));
    await assert.rejects(bn.syncCommitteeContribution(HEAD_SLOT, 0, fromHex(HEAD.data.root)), (e: unknown) => {
      assert.ok(e instanceof BeaconError && e.code === "BEACON_BAD_RESPONSE", String(e));
      assert.equal(poolReadFailure(e), "beacon_unavailable");
      return true;
    });
    assert.deepEqual(
      bn.set.status().map((s) => s.health),
      ["benched"],
    );
  });
});

describe("the recorded answers", () => {
  it("are Lodestar 1.5.1's: a header without `finalized`", () => {
    assert.equal("finalized" in HEAD, false);
    assert.equal("execution_optimistic" in HEAD, true);
  });
});
