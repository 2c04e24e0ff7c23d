import assert from "node:assert/strict";
import {rm} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {InterchangeError, SlashingProtectionError} from "../../../src/storage/slashing/errors.js";
import {SlashingProtection} from "../../../src/storage/slashing/slashingProtection.js";
import {tempDir} from "../../helpers/cli.js";

const PK = "0x" + "a1".repeat(48);
const PK2 = "0x" + "b2".repeat(48);
const GVR = "0x" + "04".repeat(32);
const root = (n: number) => "0x" + n.toString(16).padStart(64, "0");

function refusedWith(code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof SlashingProtectionError, `expected a slashing refusal, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}

describe("slashing protection (LMDB, EIP-3076)", () => {
  let dir: string;
  let sp: SlashingProtection;
  before(async () => {
    dir = await tempDir();
    sp = SlashingProtection.open(join(dir, "sp"));
    await sp.ensureGenesisValidatorsRoot(GVR);
  });
  after(async () => {
    await sp.close();
    await rm(dir, {recursive: true, force: true});
  });

  it("signs a new attestation, allows the identical repeat, refuses a double vote", async () => {
    assert.deepEqual(
      await sp.checkAndInsertAttestations([{pubkey: PK, sourceEpoch: 2, targetEpoch: 3, signingRoot: root(1)}]),
      [{ok: true, repeat: false}],
    );
    assert.deepEqual(
      await sp.checkAndInsertAttestations([{pubkey: PK, sourceEpoch: 2, targetEpoch: 3, signingRoot: root(1)}]),
      [{ok: true, repeat: true}],
    );
    await assert.rejects(
      sp.checkAndInsertAttestation({pubkey: PK, sourceEpoch: 2, targetEpoch: 3, signingRoot: root(2)}),
      refusedWith("SLASHING_DOUBLE_VOTE"),
    );
    await assert.rejects(
      sp.checkAndInsertAttestation({pubkey: PK, sourceEpoch: 1, targetEpoch: 3, signingRoot: root(1)}),
      refusedWith("SLASHING_DOUBLE_VOTE"),
    );
  });

  it("refuses surrounding and surrounded votes, naming the vote they conflict with", async () => {
    await sp.checkAndInsertAttestation({pubkey: PK, sourceEpoch: 5, targetEpoch: 6, signingRoot: root(3)});
    await assert.rejects(
      sp.checkAndInsertAttestation({pubkey: PK, sourceEpoch: 4, targetEpoch: 7, signingRoot: root(4)}),
      (e) => {
        refusedWith("SLASHING_SURROUNDING_VOTE")(e);
        assert.deepEqual((e as SlashingProtectionError).type, {
          code: "SLASHING_SURROUNDING_VOTE",
          pubkey: PK,
          sourceEpoch: 4,
          targetEpoch: 7,
          surrounded: {sourceEpoch: 5, targetEpoch: 6},
        });
        return true;
      },
    );
    await sp.checkAndInsertAttestation({pubkey: PK, sourceEpoch: 6, targetEpoch: 10, signingRoot: root(5)});
    await assert.rejects(
      sp.checkAndInsertAttestation({pubkey: PK, sourceEpoch: 7, targetEpoch: 9, signingRoot: root(6)}),
      refusedWith("SLASHING_SURROUNDED_VOTE"),
    );
    // Not slashable, but behind the watermark: refused too (a missed attestation is cheaper than a risk).
    await assert.rejects(
      sp.checkAndInsertAttestation({pubkey: PK, sourceEpoch: 6, targetEpoch: 8, signingRoot: root(7)}),
      refusedWith("SLASHING_ATTESTATION_BELOW_WATERMARK"),
    );
    await assert.rejects(
      sp.checkAndInsertAttestation({pubkey: PK, sourceEpoch: 12, targetEpoch: 11, signingRoot: root(7)}),
      refusedWith("SLASHING_SOURCE_AFTER_TARGET"),
    );
    assert.deepEqual(
      await sp.checkAndInsertAttestations([{pubkey: PK, sourceEpoch: 10, targetEpoch: 11, signingRoot: root(8)}]),
      [{ok: true, repeat: false}],
    );
  });

  it("keeps validators apart", async () => {
    // PK already signed another root for 2->3: for PK2 the same vote is new, not a double vote or a repeat.
    assert.deepEqual(
      await sp.checkAndInsertAttestations([{pubkey: PK2, sourceEpoch: 2, targetEpoch: 3, signingRoot: root(99)}]),
      [{ok: true, repeat: false}],
    );
    await assert.rejects(
      sp.checkAndInsertAttestation({pubkey: PK2, sourceEpoch: 2, targetEpoch: 3, signingRoot: root(98)}),
      refusedWith("SLASHING_DOUBLE_VOTE"),
    );
    assert.deepEqual(
      await sp.checkAndInsertAttestations([{pubkey: PK, sourceEpoch: 2, targetEpoch: 3, signingRoot: root(1)}]),
      [{ok: true, repeat: true}],
    );
  });

  it("refuses a double proposal and an earlier slot, allows the identical repeat", async () => {
    assert.deepEqual(await sp.checkAndInsertBlock({pubkey: PK, slot: 100, signingRoot: root(10)}), {repeat: false});
    assert.deepEqual(await sp.checkAndInsertBlock({pubkey: PK, slot: 100, signingRoot: root(10)}), {repeat: true});
    await assert.rejects(
      sp.checkAndInsertBlock({pubkey: PK, slot: 100, signingRoot: root(11)}),
      refusedWith("SLASHING_DOUBLE_PROPOSAL"),
    );
    await assert.rejects(
      sp.checkAndInsertBlock({pubkey: PK, slot: 99, signingRoot: root(12)}),
      refusedWith("SLASHING_BLOCK_BELOW_WATERMARK"),
    );
    assert.deepEqual(await sp.checkAndInsertBlock({pubkey: PK2, slot: 99, signingRoot: root(12)}), {repeat: false});
  });

  it("of many concurrent conflicting requests, exactly one signs", async () => {
    const verdicts = await Promise.all(
      Array.from({length: 20}, (_, k) =>
        sp.checkAndInsertAttestations([{pubkey: PK, sourceEpoch: 11, targetEpoch: 20, signingRoot: root(1000 + k)}]),
      ),
    );
    assert.equal(verdicts.flat().filter((v) => v.ok).length, 1);
  });

  it("remembers everything across a restart", async () => {
    await sp.close();
    sp = SlashingProtection.open(join(dir, "sp"));
    await assert.rejects(
      sp.checkAndInsertAttestation({pubkey: PK, sourceEpoch: 2, targetEpoch: 3, signingRoot: root(2)}),
      refusedWith("SLASHING_DOUBLE_VOTE"),
    );
    await assert.rejects(
      sp.checkAndInsertBlock({pubkey: PK, slot: 100, signingRoot: root(11)}),
      refusedWith("SLASHING_DOUBLE_PROPOSAL"),
    );
    assert.equal(sp.genesisValidatorsRoot(), GVR);
    await assert.rejects(
      sp.ensureGenesisValidatorsRoot(root(5)),
      (e) => e instanceof InterchangeError && e.code === "INTERCHANGE_GENESIS_MISMATCH",
    );
  });

  it("exports EIP-3076 v5 and a fresh DB importing it refuses the same conflicts", async () => {
    const file = sp.exportInterchange();
    assert.equal(file.metadata.interchange_format_version, "5");
    assert.equal(file.metadata.genesis_validators_root, GVR);
    const mine = file.data.find((d) => d.pubkey === PK)!;
    assert.ok(
      mine.signed_attestations.some(
        (a) => a.source_epoch === "6" && a.target_epoch === "10" && a.signing_root === root(5),
      ),
    );
    assert.deepEqual(mine.signed_blocks, [{slot: "100", signing_root: root(10)}]);

    const fresh = SlashingProtection.open(join(dir, "fresh"));
    try {
      const counts = await fresh.importInterchange(JSON.parse(JSON.stringify(file)));
      assert.equal(counts.validators, 2);
      await assert.rejects(
        fresh.checkAndInsertAttestation({pubkey: PK, sourceEpoch: 4, targetEpoch: 12, signingRoot: root(50)}),
        refusedWith("SLASHING_SURROUNDING_VOTE"),
      );
      await assert.rejects(
        fresh.checkAndInsertBlock({pubkey: PK, slot: 100, signingRoot: root(11)}),
        refusedWith("SLASHING_DOUBLE_PROPOSAL"),
      );
      assert.deepEqual(await fresh.checkAndInsertBlock({pubkey: PK, slot: 100, signingRoot: root(10)}), {repeat: true});
      assert.deepEqual(
        await fresh.checkAndInsertAttestations([{pubkey: PK, sourceEpoch: 11, targetEpoch: 21, signingRoot: root(51)}]),
        [{ok: true, repeat: false}],
      );
    } finally {
      await fresh.close();
    }
  });

  it("imports minimal history (no signing roots) as watermarks, and refuses bad files clearly", async () => {
    const db = SlashingProtection.open(join(dir, "minimal"));
    try {
      await db.importInterchange({
        metadata: {interchange_format_version: "5", genesis_validators_root: GVR},
        data: [
          {pubkey: PK, signed_blocks: [{slot: "500"}], signed_attestations: [{source_epoch: "40", target_epoch: "41"}]},
        ],
      });
      await assert.rejects(
        db.checkAndInsertBlock({pubkey: PK, slot: 500, signingRoot: root(1)}),
        refusedWith("SLASHING_DOUBLE_PROPOSAL"),
      );
      await assert.rejects(
        db.checkAndInsertAttestation({pubkey: PK, sourceEpoch: 39, targetEpoch: 42, signingRoot: root(1)}),
        refusedWith("SLASHING_SURROUNDING_VOTE"),
      );
      assert.deepEqual(
        await db.checkAndInsertAttestations([{pubkey: PK, sourceEpoch: 41, targetEpoch: 42, signingRoot: root(1)}]),
        [{ok: true, repeat: false}],
      );
      const bad = {
        metadata: {interchange_format_version: "5", genesis_validators_root: GVR},
        data: [{pubkey: PK, signed_blocks: [{slot: 7}], signed_attestations: []}],
      };
      await assert.rejects(
        db.importInterchange(bad),
        (e) =>
          e instanceof InterchangeError &&
          e.code === "INTERCHANGE_MALFORMED" &&
          /data\.0\.signed_blocks\.0\.slot/.test(e.message),
      );
      await assert.rejects(
        db.importInterchange({
          ...bad,
          metadata: {interchange_format_version: "4", genesis_validators_root: GVR},
          data: [],
        }),
        (e) => e instanceof InterchangeError && e.code === "INTERCHANGE_VERSION",
      );
      await assert.rejects(
        db.importInterchange({metadata: {interchange_format_version: "5", genesis_validators_root: root(9)}, data: []}),
        (e) => e instanceof InterchangeError && e.code === "INTERCHANGE_GENESIS_MISMATCH",
      );
    } finally {
      await db.close();
    }
  });
});
