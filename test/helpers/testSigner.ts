import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before} from "node:test";
import {initHerumi} from "../../src/hotpath/herumi.js";
import {BlsPool} from "../../src/workers/blsPool.js";
import type {ShareKey} from "../../src/roles/validator/signing/shareKeys.js";
import {Signer} from "../../src/roles/validator/signing/signer.js";
import {SlashingProtection} from "../../src/storage/slashing/slashingProtection.js";

/** Signers over real slashing-protection DBs (LMDB in a temp dir), one per node; `close` removes them all. */
export class TestSigners {
  private readonly open: SlashingProtection[] = [];
  private constructor(private readonly dir: string) {}

  static async create(): Promise<TestSigners> {
    return new TestSigners(await mkdtemp(join(tmpdir(), "r3dv-signer-")));
  }

  signer(shares: ShareKey[], gate?: (pubkey: string) => string | undefined): Signer {
    const db = SlashingProtection.open(join(this.dir, String(this.open.length)));
    this.open.push(db);
    return new Signer(shares, db, gate);
  }

  async close(): Promise<void> {
    for (const db of this.open) await db.close();
    await rm(this.dir, {recursive: true, force: true});
  }
}

/** For a describe block of exchange tests: BLS ready, one worker pool, and signers, all closed after. */
export function exchangeKit(): {pool: BlsPool; signers: () => TestSigners} {
  const pool = new BlsPool({size: 1});
  let signers: TestSigners | undefined;
  before(async () => {
    await initHerumi();
    signers = await TestSigners.create();
  });
  after(async () => {
    await pool.close();
    await signers?.close();
  });
  return {pool, signers: () => signers as TestSigners};
}
