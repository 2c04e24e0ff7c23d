import type {Command} from "commander";
import {runDkg} from "../cluster/dkg/runDkg.js";
import {type RawCeremonyOptions, ceremonyFlags, runCeremonyCommand} from "./ceremonyOptions.js";

export function registerDkg(program: Command): void {
  const command = program
    .command("dkg")
    .summary("create the cluster's keys with the other operators: no machine ever holds a validator key")
    .description(
      "Run by every operator of a cluster definition at about the same time: a distributed key generation among " +
        "exactly the definition's operators over libp2p (joint Feldman, cheaters named and left out), then every " +
        "operator signs the lock. Writes NODE_DIR/cluster-lock.json, NODE_DIR/validator_keys/ (this operator's " +
        "shares) and NODE_DIR/deposit-data.json, as create-cluster does, and nothing if the ceremony fails.",
    )
    .requiredOption("--definition <FILE>", "cluster-definition.json from create-definition")
    .requiredOption("--node-dir <DIR>", "this node's folder with identity.key from create-identity");
  ceremonyFlags(command).action(async (raw: RawCeremonyOptions) => {
    const {definition, outcome} = await runCeremonyCommand(raw, "dkg", (o) => runDkg(o));
    const {output, result, self} = outcome;
    console.log(`DKG done: operator ${self} of ${definition.operators.length}, threshold ${definition.threshold}`);
    console.log(`  lock_hash   ${output.lock.lock_hash}`);
    console.log(`  qualified   ${result.qualified.join(", ")}`);
    for (const d of result.disqualified) console.log(`  disqualified operator ${d.dealer}: ${d.reason}: ${d.detail}`);
    console.log(`  validators  ${output.lock.validators.map((v) => v.pubkey.slice(0, 12) + "..").join(" ")}`);
    console.log(`wrote ${raw.nodeDir}/cluster-lock.json, validator_keys/ and deposit-data.json`);
  });
}
