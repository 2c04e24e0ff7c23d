import assert from "node:assert/strict";
import {readFileSync, readdirSync} from "node:fs";
import {rm} from "node:fs/promises";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {after, before, describe, it} from "node:test";
import {SlashingProtection} from "../../../src/storage/slashing/slashingProtection.js";
import {tempDir} from "../../helpers/cli.js";

/** The official vectors, read from the source tree (dist/ holds only compiled code). */
const VECTORS = fileURLToPath(new URL("../../../../test/storage/slashing/eip3076-vectors/", import.meta.url));

interface Vector {
  name: string;
  genesis_validators_root: string;
  steps: {
    should_succeed: boolean;
    contains_slashable_data: boolean;
    interchange: unknown;
    blocks: {
      pubkey: string;
      slot: string;
      signing_root?: string;
      should_succeed: boolean;
      should_succeed_complete?: boolean;
    }[];
    attestations: {
      pubkey: string;
      source_epoch: string;
      target_epoch: string;
      signing_root?: string;
      should_succeed: boolean;
      should_succeed_complete?: boolean;
    }[];
  }[];
}

/** A signing root the vector leaves out: EIP-3076 makes it optional, and a message without one is never a repeat. */
const NO_ROOT = "0x" + "00".repeat(32);

type Held = Set<string>;
const blockKey = (pubkey: string, slot: string, root: string) =>
  `${pubkey.toLowerCase()}/b/${slot}/${root.toLowerCase()}`;
const attKey = (pubkey: string, source: string, target: string, root: string) =>
  `${pubkey.toLowerCase()}/a/${source}/${target}/${root.toLowerCase()}`;

/** The messages with a signing root that an interchange gives the database. */
function hold(held: Held, interchange: unknown): void {
  for (const d of (
    interchange as {
      data: {
        pubkey: string;
        signed_blocks: {slot: string; signing_root?: string}[];
        signed_attestations: {source_epoch: string; target_epoch: string; signing_root?: string}[];
      }[];
    }
  ).data) {
    for (const b of d.signed_blocks) if (b.signing_root) held.add(blockKey(d.pubkey, b.slot, b.signing_root));
    for (const a of d.signed_attestations)
      if (a.signing_root) held.add(attKey(d.pubkey, a.source_epoch, a.target_epoch, a.signing_root));
  }
}

/**
 * The answer r3dv owes a check. It keeps watermarks, the "minimal" strategy that `should_succeed` describes,
 * and also the records themselves, so it signs an exact repeat of a message it holds (the same signing root),
 * as the "complete" strategy does (`should_succeed_complete`): re-signing one message yields the same
 * signature, which slashes no one. Where the two strategies differ on anything else, r3dv is the stricter.
 */
function expected(check: {should_succeed: boolean; should_succeed_complete?: boolean}, repeat: boolean): boolean {
  return repeat && check.should_succeed_complete !== undefined ? check.should_succeed_complete : check.should_succeed;
}

/**
 * The EIP-3076 interchange tests as their README says to run them: a fresh database per test, each step's
 * interchange imported, then its blocks and attestations signed or refused. An interchange with slashable
 * data may be imported or refused; when refused, the test's later checks and steps are skipped, as the README
 * allows.
 */
describe("the official EIP-3076 interchange tests (eth-clients, v5.3.0)", () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await rm(dir, {recursive: true, force: true});
  });

  const files = readdirSync(VECTORS)
    .filter((f) => f.endsWith(".json"))
    .sort();
  it("are all here", () => assert.equal(files.length, 38));

  for (const file of files) {
    const v = JSON.parse(readFileSync(join(VECTORS, file), "utf8")) as Vector;
    it(v.name, async () => {
      const db = SlashingProtection.open(join(dir, v.name));
      const held: Held = new Set();
      try {
        await db.ensureGenesisValidatorsRoot(v.genesis_validators_root);
        for (const [k, step] of v.steps.entries()) {
          const imported = await db.importInterchange(step.interchange).then(
            () => null,
            (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
          );
          if (!step.should_succeed) {
            assert.ok(imported !== null, `step ${k}: the interchange should have been refused`);
            continue;
          }
          if (imported !== null) {
            assert.ok(
              step.contains_slashable_data,
              `step ${k}: a valid interchange without slashable data was refused: ${imported.message}`,
            );
            return;
          }
          hold(held, step.interchange);
          for (const [j, b] of step.blocks.entries()) {
            const key = blockKey(b.pubkey, b.slot, b.signing_root ?? NO_ROOT);
            const signed = await db
              .checkAndInsertBlock({pubkey: b.pubkey, slot: Number(b.slot), signingRoot: b.signing_root ?? NO_ROOT})
              .then(
                () => true,
                () => false,
              );
            assert.equal(
              signed,
              expected(b, b.signing_root !== undefined && held.has(key)),
              `step ${k}, block ${j} (slot ${b.slot}, root ${b.signing_root ?? "none"})`,
            );
            if (signed) held.add(key);
          }
          for (const [j, a] of step.attestations.entries()) {
            const key = attKey(a.pubkey, a.source_epoch, a.target_epoch, a.signing_root ?? NO_ROOT);
            const req = {
              pubkey: a.pubkey,
              sourceEpoch: Number(a.source_epoch),
              targetEpoch: Number(a.target_epoch),
              signingRoot: a.signing_root ?? NO_ROOT,
            };
            const [verdict] = await db.checkAndInsertAttestations([req]);
            const message = `step ${k}, attestation ${j} (${a.source_epoch}->${a.target_epoch}, root ${a.signing_root ?? "none"})`;
            assert.equal(verdict?.ok, expected(a, a.signing_root !== undefined && held.has(key)), message);
            if (verdict?.ok) held.add(key);
          }
        }
      } finally {
        await db.close();
      }
    });
  }
});
