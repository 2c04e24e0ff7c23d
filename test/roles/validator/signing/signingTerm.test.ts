import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {mkdir, mkdtemp, readFile, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {toHex} from "../../../../src/hotpath/bytes.js";
import type {ShareKey} from "../../../../src/roles/validator/signing/shareKeys.js";
import {Signer} from "../../../../src/roles/validator/signing/signer.js";
import {RETIREMENT_FILE, SigningTerm, SigningTermError} from "../../../../src/roles/validator/signing/signingTerm.js";
import {SlashingProtection} from "../../../../src/storage/slashing/slashingProtection.js";

const OLD = {lock_hash: "0x" + "11".repeat(32)};
const NEW = {lock_hash: "0x" + "22".repeat(32), reshared_from: {lock_hash: OLD.lock_hash, switch_epoch: 3}};

describe("signing term: a reshared lock signs from its switch epoch, a retired one stops there", () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "r3dv-term-"))));
  after(() => rm(dir, {recursive: true, force: true}));

  it("splits the slots at the switch epoch between the old lock's node and the new one's", async () => {
    const oldNode = await SigningTerm.load(OLD, dir);
    const next = await SigningTerm.load(NEW);
    const last = 3 * SLOTS_PER_EPOCH - 1;
    assert.deepEqual([oldNode.covers(last), next.covers(last)], [true, false]);
    assert.equal(oldNode.covers(last + 1), true, "the old lock signs on until it is retired");
    await oldNode.retire(3);
    assert.deepEqual([oldNode.covers(last + 1), next.covers(last + 1)], [false, true]);
    // Every slashable message: exactly one of the two may sign it.
    for (const target of [2, 3, 4]) {
      const att = {kind: "attestation" as const, sourceEpoch: 1, targetEpoch: target};
      const block = {kind: "block" as const, slot: target * SLOTS_PER_EPOCH};
      for (const m of [att, block])
        assert.equal([oldNode.refusal(m), next.refusal(m)].filter((r) => r === undefined).length, 1, `${target}`);
    }
    assert.match(next.refusal({kind: "block", slot: last}) ?? "", /before this lock's switch epoch 3/);
    assert.match(oldNode.refusal({kind: "block", slot: last + 1}) ?? "", /retired from epoch 3 \(r3dv retire\)/);
  });

  it("keeps a retirement across a restart, ignores another lock's, never moves it later, refuses a broken file", async () => {
    const data = join(dir, "restart");
    await mkdir(data, {recursive: true});
    assert.equal((await SigningTerm.load(OLD, data)).untilEpoch, undefined, "no retirement file: not retired");
    await (await SigningTerm.load(OLD, data)).retire(5);
    const again = await SigningTerm.load(OLD, data);
    assert.equal(again.untilEpoch, 5, "read back at the next start");
    assert.equal((await SigningTerm.load(NEW, data)).untilEpoch, undefined, "another lock's retirement");
    await assert.rejects(
      again.retire(6),
      (e) => e instanceof SigningTermError && e.type.code === "RETIRE_LATER_THAN_BEFORE",
    );
    await again.retire(4);
    assert.equal((await SigningTerm.load(OLD, data)).untilEpoch, 4);
    assert.equal((await readFile(join(data, RETIREMENT_FILE), "utf8")).includes('"epoch":4'), true);
    await writeFile(join(data, RETIREMENT_FILE), "{not json");
    await assert.rejects(
      SigningTerm.load(OLD, data),
      (e) => e instanceof SigningTermError && /will not start without knowing whether it is retired/.test(e.message),
    );
  });

  it("the Signer refuses what is outside the term before slashing protection records it", async () => {
    const sk = SecretKey.fromKeygen(randomBytes(32));
    const pubkey = toHex(sk.toPublicKey().toBytes());
    const share: ShareKey = {pubkey, sharePubkeys: {1: sk.toPublicKey().toBytes()}, secret: sk.toBytes()};
    const db = SlashingProtection.open(join(dir, "db"));
    try {
      const term = await SigningTerm.load(NEW);
      const signer = new Signer([share], db, undefined, undefined, term);
      const message = randomBytes(32);
      const [early] = await signer.signAll([
        {pubkey, message, slashable: {kind: "attestation", sourceEpoch: 1, targetEpoch: 2}},
      ]);
      assert.ok(early && !early.ok && early.error.type.code === "OUTSIDE_TERM", JSON.stringify(early));
      // Nothing recorded for epoch 2: a vote for target 3 with a lower source is still not a surround of it.
      const [onTime] = await signer.signAll([
        {pubkey, message, slashable: {kind: "attestation", sourceEpoch: 0, targetEpoch: 3}},
      ]);
      assert.ok(onTime?.ok, "signs from the switch epoch");
    } finally {
      await db.close();
    }
  });
});
