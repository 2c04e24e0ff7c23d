import {access, readFile, writeFile} from "node:fs/promises";
import {join} from "node:path";
import type {Command} from "commander";
import {InterchangeError} from "../storage/slashing/errors.js";
import {SLASHING_DB_DIR, SlashingProtection} from "../storage/slashing/slashingProtection.js";
import {errorMessage} from "../util/errors.js";

const dbPath = (dataDir: string) => join(dataDir, SLASHING_DB_DIR);

async function withDb<T>(dataDir: string, mustExist: boolean, f: (db: SlashingProtection) => Promise<T>): Promise<T> {
  if (mustExist) {
    await access(dbPath(dataDir)).catch(() => {
      throw new InterchangeError(
        {code: "INTERCHANGE_MALFORMED", field: "--data-dir", reason: "no slashing protection DB"},
        `no slashing protection DB in ${dataDir}: point --data-dir at the node's data dir`,
      );
    });
  }
  const db = SlashingProtection.open(dbPath(dataDir));
  try {
    return await f(db);
  } finally {
    await db.close();
  }
}

export function registerSlashingProtection(program: Command): void {
  const cmd = program
    .command("slashing-protection")
    .summary("export or import the node's slashing protection history (EIP-3076 interchange v5)");
  cmd
    .command("export")
    .summary("write the complete signing history as an EIP-3076 v5 interchange file")
    .requiredOption("--data-dir <DIR>", "the node's data dir", process.env.R3DV_DATA_DIR)
    .requiredOption("--out <FILE>", "file to write (must not exist)")
    .option("--pubkeys <0x..,...>", "only these validators")
    .action(async (o: {dataDir: string; out: string; pubkeys?: string}) => {
      const file = await withDb(o.dataDir, true, async (db) =>
        db.exportInterchange(o.pubkeys?.split(",").map((p) => p.trim())),
      );
      await writeFile(o.out, JSON.stringify(file, null, 2) + "\n", {flag: "wx"}).catch((e: unknown) => {
        throw new InterchangeError(
          {code: "INTERCHANGE_MALFORMED", field: "--out", reason: errorMessage(e)},
          `cannot write ${o.out}: ${errorMessage(e)}`,
        );
      });
      const blocks = file.data.reduce((n, d) => n + d.signed_blocks.length, 0);
      const atts = file.data.reduce((n, d) => n + d.signed_attestations.length, 0);
      console.log(`exported ${file.data.length} validator(s), ${blocks} block(s), ${atts} attestation(s) to ${o.out}`);
    });
  cmd
    .command("import")
    .summary("merge an EIP-3076 interchange file (from r3dv or any other client) into the node's history")
    .argument("<FILE>", "interchange file")
    .requiredOption("--data-dir <DIR>", "the node's data dir", process.env.R3DV_DATA_DIR)
    .action(async (file: string, o: {dataDir: string}) => {
      let json: unknown;
      try {
        json = JSON.parse(await readFile(file, "utf8"));
      } catch (e) {
        throw new InterchangeError(
          {code: "INTERCHANGE_MALFORMED", field: "(file)", reason: errorMessage(e)},
          `cannot read interchange file ${file}: ${errorMessage(e)}`,
        );
      }
      const counts = await withDb(o.dataDir, false, (db) => db.importInterchange(json));
      console.log(
        `imported ${counts.validators} validator(s), ${counts.blocks} block(s), ${counts.attestations} attestation(s) from ${file}`,
      );
    });
}
