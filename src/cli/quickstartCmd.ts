import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import type {Command} from "commander";
import {createCluster} from "../cluster/createCluster.js";
import {verifyCluster} from "../cluster/verifyCluster.js";

/** A fixed, obviously-test withdrawal address: quickstart keys are interop keys, public to the world. */
const QUICKSTART_WITHDRAWAL = "0x000000000000000000000000000000000000dEaD";

export function registerQuickstart(program: Command): void {
  program
    .command("quickstart")
    .summary("what `npm start` runs: create a 4-node devnet cluster in a temp folder and verify it")
    .option("--keep", "keep the temp folder instead of deleting it")
    .action(async (opts: {keep?: boolean}) => {
      console.log("r3dv quickstart: the full devnet run (`r3dv devnet`) is not built yet; until it is, this creates a");
      console.log("4-node, threshold-3 cluster of 4 interop validators in a temp folder and verifies it.\n");
      const parent = await mkdtemp(join(tmpdir(), "r3dv-quickstart-"));
      const out = join(parent, "cluster");
      try {
        console.log(`$ r3dv create-cluster --nodes 4 --threshold 3 --interop 0:4 --network devnet --kdf pbkdf2 --out ${out} ...`);
        await createCluster({
          nodes: 4,
          threshold: 3,
          keys: {kind: "interop", start: 0, count: 4},
          network: "devnet",
          withdrawalAddress: QUICKSTART_WITHDRAWAL,
          kdf: "pbkdf2",
          out,
          name: "r3dv-quickstart",
          onProgress: (m) => console.log(`  ${m}`),
        });
        console.log(`\n$ r3dv verify-cluster ${out}`);
        const report = await verifyCluster(out, (line) => console.log(`  ok  ${line}`));
        console.log(`\nquickstart passed: ${report.checks.length} checks.${opts.keep ? ` Cluster kept in ${out}` : ""}`);
      } finally {
        if (!opts.keep) await rm(parent, {recursive: true, force: true});
      }
    });
}
