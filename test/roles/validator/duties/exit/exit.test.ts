import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {fromHex, toHex} from "../../../../../src/hotpath/bytes.js";
import {sign} from "../../../../../src/hotpath/threshold.js";
import {
  type ExitResult,
  ExitService,
  type ExitStatus,
} from "../../../../../src/roles/validator/duties/exit/exitService.js";
import type {BeaconNode} from "../../../../../src/roles/validator/beacon/beaconNode.js";
import type {PublicShare} from "../../../../../src/roles/validator/signing/shareKeys.js";
import type {Signer} from "../../../../../src/roles/validator/signing/signer.js";
import {encodePartialExit} from "../../../../../src/roles/validator/duties/exit/partialExit.js";
import {voluntaryExitSigningRoot} from "../../../../../src/roles/validator/signing/signingRoots.js";
import type {ClusterTransport} from "../../../../../src/roles/validator/clusterTransport.js";
import {waitFor} from "../../../../helpers/cluster.js";
import {createLogger} from "../../../../../src/util/logger.js";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";
import {signedBy} from "../../../../helpers/dutyHarness/signatures.js";

const EPOCH = 0;

describe("voluntary exits signed by the operators, with no central party", {timeout: 60_000}, () => {
  it("fewer than the threshold never exit; the threshold's partials are recovered, verified and submitted by every node", async (t) => {
    let node4: ClusterTransport | undefined;
    const c = await DutyCluster.start(t, {
      validators: 2,
      // Node 4's own transport, kept so the test can push what a lying node 4 would.
      node: (i, cl) => (i === 4 ? {transport: (node4 = cl.hub.transport(4))} : {}),
    });
    await waitFor("every node's exits", async () => c.roles.every((r) => r.exits !== null), 10_000, 20);
    const exits = (i: number) => c.roles[i - 1]?.exits as ExitService;
    const statuses = new Map<string, ExitStatus | undefined>();
    const of = (i: number, v: number) => statuses.get(`${i}/${v}`);
    // Reads node i's status of validator v into `of` (status asks the beacon node, so it is async).
    const read = async (i: number, v: number) => {
      statuses.set(`${i}/${v}`, (await exits(i).status(String(v)))[0]);
      return of(i, v);
    };

    // Operator 1 by index, operator 2 by public key: two of the three needed.
    const first = await exits(1).sign("0", {epoch: EPOCH, submit: true});
    assert.deepEqual([first.signed, first.missing, first.recovered], [[1], [2, 3, 4], false]);
    await exits(2).sign(c.pubkey(0), {epoch: EPOCH, submit: true});
    await waitFor("node 4 holds both partials", async () => (await read(4, 0))?.signed.length === 2, 5_000, 20);
    assert.deepEqual([of(4, 0)?.signed, of(4, 0)?.missing, of(4, 0)?.recovered], [[1, 2], [3, 4], false]);

    // A lying node 4 pushes a partial for validator 0 signed with validator 1's share: named, never counted.
    const wrongShare = c.memory.shares[3]?.find((s) => s.pubkey === c.pubkey(1))?.secret as Uint8Array;
    const root = voluntaryExitSigningRoot(c.beacon.config, {epoch: EPOCH, validatorIndex: 0}, c.beacon.currentSlot());
    node4?.publish(
      "partial_exit",
      c.beacon.currentSlot(),
      encodePartialExit({
        pubkey: c.pubkey(0),
        validatorIndex: 0,
        epoch: EPOCH,
        signature: toHex(sign(wrongShare, root)),
        submit: true,
      }),
    );
    await waitFor(
      "node 1 names node 4's partial",
      async () => (await read(1, 0))?.invalid.includes(4) === true,
      5_000,
      20,
    );
    assert.deepEqual([of(1, 0)?.signed, of(1, 0)?.recovered], [[1, 2], false]);
    // A forged partial for an exit nobody signed is refused without a trace: no exit is kept for it.
    node4?.publish(
      "partial_exit",
      c.beacon.currentSlot(),
      encodePartialExit({
        pubkey: c.pubkey(1),
        validatorIndex: 1,
        epoch: EPOCH,
        signature: toHex(sign(wrongShare, new Uint8Array(32).fill(7))),
        submit: true,
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await exits(1).status("1"), [], "no exit kept for a forged partial");
    assert.equal(c.beacon.received.exits.length, 0, "nothing submitted with two honest partials and a bad one");

    // Operator 3 signs: every node recovers, verifies and submits the same exit.
    await exits(3).sign("0", {epoch: EPOCH, submit: true});
    // A node reports its duty result once the beacon node answered, after the beacon node has the exit.
    await waitFor(
      "every node submitted the exit and reported it",
      async () =>
        new Set(c.beacon.received.exits.map((r) => r.node)).size === 4 &&
        new Set(c.results.filter((x) => x.duty === "voluntary_exit").map((x) => x.node)).size === 4,
      5_000,
      20,
    );
    for (const {item} of c.beacon.received.exits) {
      assert.deepEqual(item.message, {epoch: EPOCH, validatorIndex: 0});
      assert.ok(signedBy(0, root, item.signature), "the exit verifies under validator 0's own key");
    }
    for (let i = 1; i <= 4; i++) {
      const r = c.results.filter((x) => x.node === i && x.duty === "voluntary_exit");
      assert.equal(r.length, 1, JSON.stringify(r));
      assert.deepEqual([r[0]?.status, r[0]?.validatorIndex], ["submitted", 0]);
      assert.equal((await read(i, 0))?.submitted?.ok, true);
    }

    // An epoch passes with the exit still in the pool, not in a block: every node sends it again, and it is still
    // one exit per node in the duty results.
    for (let i = 1; i <= 4; i++) await exits(i).refresh();
    assert.equal(c.beacon.received.exits.length, 8, "each node sent it again");
    assert.equal(c.results.filter((x) => x.duty === "voluntary_exit").length, 4, JSON.stringify(c.results));

    // Once the chain shows the exit, a node says so, and no operator can sign it again.
    c.beacon.exitEpochs.set(0, 5);
    assert.equal((await read(2, 0))?.exitEpoch, 5);
    await assert.rejects(exits(1).sign("0", {submit: true}), {code: "EXIT_NOT_EXITABLE"});
  });

  it("a refresh while a node's submission is still in flight sends nothing more: one request, one result", async (t) => {
    const c = await DutyCluster.start(t, {validators: 1});
    await waitFor("every node's exits", async () => c.roles.every((r) => r.exits !== null), 10_000, 20);
    const exits = (i: number) => c.roles[i - 1]?.exits as ExitService;
    // Node 4's beacon node answers exits late: its epoch's refresh fires while its submission waits for the answer.
    c.beacon.fault("submitPoolVoluntaryExit", {delayMs: 500, nodes: [4]});
    for (const i of [1, 2, 3]) await exits(i).sign("0", {epoch: EPOCH, submit: true});
    await waitFor(
      "node 4's submission in flight",
      async () => (await exits(4).status("0"))[0]?.submitted?.detail === "in flight",
      5_000,
      5,
    );
    await exits(4).refresh();
    await waitFor(
      "node 4's result",
      async () => c.results.some((x) => x.node === 4 && x.duty === "voluntary_exit"),
      5_000,
      20,
    );
    // Long enough for a second request the refresh might have started to be answered and reported.
    await new Promise((r) => setTimeout(r, 700));
    const results = c.results.filter((x) => x.node === 4 && x.duty === "voluntary_exit");
    assert.deepEqual(
      results.map((r) => r.status),
      ["submitted"],
      JSON.stringify(results),
    );
    assert.equal(c.beacon.received.exits.filter((r) => r.node === 4).length, 1, "node 4 sent the exit twice");
  });

  it("a pre-signed exit (`--out`) is recovered and kept by every node, and submitted by none", async (t) => {
    const c = await DutyCluster.start(t, {validators: 1});
    await waitFor("every node's exits", async () => c.roles.every((r) => r.exits !== null), 10_000, 20);
    const exits = (i: number) => c.roles[i - 1]?.exits as ExitService;
    for (const i of [1, 2, 3]) await exits(i).sign("0", {epoch: EPOCH, submit: false});
    await waitFor("node 4 recovered it", async () => (await exits(4).status("0"))[0]?.recovered === true, 5_000, 20);
    const kept = (await exits(4).status("0"))[0] as ExitStatus;
    assert.deepEqual(kept.submitRequested, []);
    const signature = fromHex(kept.signedExit?.signature as string, 96);
    const root = voluntaryExitSigningRoot(c.beacon.config, {epoch: EPOCH, validatorIndex: 0}, c.beacon.currentSlot());
    assert.ok(signedBy(0, root, signature), "the kept exit verifies under validator 0's own key");
    assert.deepEqual(kept.signedExit?.message, {epoch: String(EPOCH), validator_index: "0"});
    // A refresh pushes partials again but submits nothing nobody asked to submit.
    await exits(1).refresh();
    assert.equal(c.beacon.received.exits.length, 0);
    assert.equal(c.results.filter((r) => r.duty === "voluntary_exit").length, 0);
  });

  it("a node restarted with partials in its series recovers the exit quietly and submits it only after asking the chain", async (t) => {
    const c = await DutyCluster.start(t, {validators: 1});
    await waitFor("node 1's duties", async () => c.roles[0]?.beaconNode !== null, 10_000, 20);
    const beacon = c.roles[0]?.beaconNode as BeaconNode;
    const root = voluntaryExitSigningRoot(c.beacon.config, {epoch: EPOCH, validatorIndex: 0}, c.beacon.currentSlot());
    // What nodes 1, 2 and 3 pushed before the restart, as the series gives them back.
    const stored = [1, 2, 3].map((origin) => ({
      origin,
      payload: encodePartialExit({
        pubkey: c.pubkey(0),
        validatorIndex: 0,
        epoch: EPOCH,
        signature: toHex(sign(c.memory.shares[origin - 1]?.[0]?.secret as Uint8Array, root)),
        submit: true,
      }),
    }));
    const results: ExitResult[] = [];
    const restarted = new ExitService({
      beacon,
      transport: c.hub.transport(1),
      // Never called: nothing is signed here, only what the series held is restored.
      signer: {} as Signer,
      shares: (c.memory.shares[0] ?? []).map(({pubkey, sharePubkeys}): PublicShare => ({pubkey, sharePubkeys})),
      threshold: 3,
      n: 4,
      logger: createLogger("error", "test"),
      onResult: (r) => results.push(r),
      stored,
    });
    t.after(() => restarted.stop());
    const restored = (await restarted.status("0"))[0];
    assert.deepEqual([restored?.signed, restored?.recovered, restored?.submitted], [[1, 2, 3], true, undefined]);
    assert.equal(c.beacon.received.exits.length, 0, "nothing submitted before the chain was asked");
    await restarted.refresh();
    assert.equal(c.beacon.received.exits.length, 1, "not on chain: submitted once asked");
    assert.deepEqual([results[0]?.status, results[0]?.signers], ["submitted", [1, 2, 3]]);
  });

  it("a node whose submission comes after another's reached the chain records the exit done, not failed", async (t) => {
    const c = await DutyCluster.start(t, {validators: 1});
    await waitFor("every node's exits", async () => c.roles.every((r) => r.exits !== null), 10_000, 20);
    const exits = (i: number) => c.roles[i - 1]?.exits as ExitService;
    // Node 4's submission reaches its beacon node after the block with another node's: refused, as a real beacon
    // node refuses an exit for a validator already exiting, and the chain shows the exit.
    c.beacon.fault("submitPoolVoluntaryExit", {
      nodes: [4],
      refuse: () => {
        c.beacon.exitEpochs.set(0, 5);
        return "validator 0 has already exited";
      },
    });
    for (const i of [1, 2, 3]) await exits(i).sign("0", {epoch: EPOCH, submit: true});
    await waitFor(
      "every node's exit result",
      async () => c.results.filter((r) => r.duty === "voluntary_exit").length === 4,
      5_000,
      20,
    );
    const node4 = c.results.filter((r) => r.node === 4 && r.duty === "voluntary_exit");
    assert.deepEqual(
      node4.map((r) => [r.status, r.reason, r.detail]),
      [["submitted", undefined, "the chain already holds the exit (exit epoch 5)"]],
    );
    assert.ok(
      c.beacon.received.exits.some((r) => r.node === 4 && r.refused),
      "node 4's submission was refused",
    );
    assert.equal((await exits(4).status("0"))[0]?.exitEpoch, 5);
  });
});
