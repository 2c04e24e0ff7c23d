import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {before, describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import {buildDefinition} from "../../../src/cluster/definition.js";
import type {ClusterDefinition} from "../../../src/cluster/definitionSchema.js";
import {checkDepositData} from "../../../src/cluster/deposit.js";
import {identityAuthenticator} from "../../../src/cluster/dkg/authenticator.js";
import {type LockMessage, LockRound, type DkgOutput} from "../../../src/cluster/dkg/lockRound.js";
import {DkgError, type DkgResult} from "../../../src/cluster/dkg/outcome.js";
import {parseLock} from "../../../src/cluster/lock.js";
import {fromHex} from "../../../src/hotpath/bytes.js";
import {dkgIdentities, runDkgNet} from "../../helpers/dkgNet.js";

type Identity = Awaited<ReturnType<typeof dkgIdentities>>[number];

/** Runs the lock step among all operators; `tamper` may change what operator `from` sends. */
function lockStep(
  definition: ClusterDefinition,
  results: DkgResult[],
  ids: Identity[],
  tamper: (m: LockMessage) => LockMessage = (m) => m,
): (DkgOutput | DkgError)[] {
  const peerIds = ids.map((i) => i.peerId);
  const rounds = results.map(
    (r, k) => new LockRound(definition, r, k + 1, identityAuthenticator((ids[k] as Identity).privateKey, peerIds)),
  );
  const sent = rounds.map((r) => tamper(r.start()));
  rounds.forEach((r, k) => sent.forEach((m, i) => i !== k && r.receive(m)));
  return rounds.map((r) => {
    try {
      return r.finish();
    } catch (e) {
      if (e instanceof DkgError) return e;
      throw e;
    }
  });
}

describe("DKG lock step", () => {
  let ids: Identity[];
  let definition: ClusterDefinition;
  let results: DkgResult[];
  before(async () => {
    ids = await dkgIdentities(4);
    definition = buildDefinition({
      operators: ids.map((id, k) => `${id.peerId}@127.0.0.1:${9101 + k}`),
      validators: 2,
      network: "devnet",
      withdrawalAddress: "0x" + "ab".repeat(20),
      compounding: true,
    }).definition;
    const net = await runDkgNet({
      operators: 4,
      threshold: definition.threshold,
      validators: definition.validators,
      identities: ids,
      definitionHash: fromHex(definition.definition_hash),
    });
    results = net.outcomes as DkgResult[];
  });

  it("every operator writes the same lock, which r3dv's own lock checks accept, and valid deposits", async () => {
    const outputs = lockStep(definition, results, ids);
    const texts = outputs.map((o) => {
      assert.ok(!(o instanceof DkgError), o instanceof DkgError ? o.message : "");
      return JSON.stringify(o.lock, null, 2);
    });
    assert.equal(new Set(texts).size, 1, "byte-identical lock on every machine");
    // Schema, every share key on the validator's polynomial, the hash and all four operator signatures.
    const lock = await parseLock(texts[0] as string, "cluster-lock.json");
    assert.equal(lock.uuid, definition.uuid);
    assert.deepEqual(lock.operators, definition.operators);
    for (const d of (outputs[0] as DkgOutput).deposits) assert.deepEqual(checkDepositData(d, "devnet"), []);
    assert.equal((outputs[0] as DkgOutput).deposits[0]?.withdrawal_credentials.slice(0, 2), "02");
  });

  it("an operator whose keys differ is named, and nobody gets a lock", () => {
    const other = results.map((r, k) =>
      k === 3 ? {...r, validators: r.validators.map((v) => ({...v, sharePubkeys: [...v.sharePubkeys].reverse()}))} : r,
    );
    const outputs = lockStep(definition, other, ids);
    for (const o of outputs.slice(0, 3)) {
      assert.ok(o instanceof DkgError && o.type.code === "DKG_LOCK_MISMATCH", String(o));
      assert.deepEqual(o.type.code === "DKG_LOCK_MISMATCH" && o.type.operators.map((x) => x.operator), [4]);
    }
  });

  it("one bad deposit partial is outvoted; two leave fewer than the threshold and are named", () => {
    const garbage = (from: number[]) => (m: LockMessage) =>
      from.includes(m.from)
        ? {
            ...m,
            depositPartials: m.depositPartials.map(() =>
              SecretKey.fromKeygen(randomBytes(32)).sign(randomBytes(32)).toBytes(),
            ),
          }
        : m;
    for (const o of lockStep(definition, results, ids, garbage([2]))) {
      assert.ok(!(o instanceof DkgError), String(o));
      for (const d of o.deposits) assert.deepEqual(checkDepositData(d, "devnet"), []);
    }
    // Operators 2 and 3 keep their own good partials; the honest 1 and 4 see both bad.
    for (const o of lockStep(definition, results, ids, garbage([2, 3])).filter((_, k) => k === 0 || k === 3)) {
      assert.ok(o instanceof DkgError && o.type.code === "DKG_DEPOSIT_FAILED", String(o));
      assert.deepEqual(o.type.code === "DKG_DEPOSIT_FAILED" && o.type.badShares, [2, 3]);
    }
  });
});
