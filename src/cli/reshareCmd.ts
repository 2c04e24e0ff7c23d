import type {Command} from "commander";
import {runReshare} from "../cluster/dkg/runReshare.js";
import {type RawCeremonyOptions, ceremonyFlags, runCeremonyCommand} from "./ceremonyOptions.js";

interface RawOptions extends RawCeremonyOptions {
  oldLock?: string;
  outDir?: string;
}

export function registerReshare(program: Command): void {
  const command = program
    .command("reshare")
    .summary("give a cluster's validators new shares for a new operator set: same keys, no machine holds one")
    .description(
      "Run by every new operator and every dealing old operator of a reshare definition (create-definition " +
        "--reshare-from) at about the same time: the old operators deal their shares of every validator, the new " +
        "operators receive new shares of the same keys (verifiable: a dealer that deals anything but its old share " +
        "is named and left out) and sign a new lock naming the old one. A new operator's node dir (--out-dir, or " +
        "NODE_DIR for an operator new to the cluster) gets identity.key, cluster-lock.json, validator_keys/ and " +
        "deposit-data.json; the old node dir is never touched.",
    )
    .requiredOption("--definition <FILE>", "the reshare's cluster-definition.json")
    .requiredOption("--node-dir <DIR>", "this operator's node dir: identity.key, and an old operator's lock and keys")
    .option("--old-lock <FILE>", "the lock being reshared (default NODE_DIR/cluster-lock.json)")
    .option("--out-dir <DIR>", "the new node dir (default NODE_DIR when it holds no lock or keys)");
  ceremonyFlags(command).action(async (raw: RawOptions) => {
    const {definition, outcome: o} = await runCeremonyCommand(raw, "reshare", (c) =>
      runReshare({...c, oldLock: raw.oldLock, outDir: raw.outDir}),
    );
    const n = definition.operators.length;
    const was = o.oldIndex === undefined ? "new to the cluster" : `old operator ${o.oldIndex}`;
    console.log(`reshare done: ${was}, ${o.newIndex === undefined ? "leaving" : `now operator ${o.newIndex} of ${n}`}`);
    console.log(`  dealers     qualified ${o.result.qualified.join(", ")} (ceremony numbers)`);
    for (const d of o.result.disqualified)
      console.log(`  disqualified participant ${d.dealer}: ${d.reason}: ${d.detail}`);
    const epoch = definition.reshare?.switch_epoch ?? 0;
    if (o.oldIndex !== undefined && epoch > 0)
      console.log(`retire the old lock's running node at the switch: r3dv retire --epoch ${epoch} --data-dir DATA_DIR`);
    if (o.output === undefined) {
      console.log(`this operator holds no share of the new lock; stop its old node after epoch ${epoch} has begun`);
      return;
    }
    console.log(`  lock_hash   ${o.output.lock.lock_hash} (threshold ${definition.threshold} of ${n})`);
    console.log(
      `  reshares    ${o.output.lock.reshared_from?.lock_hash}, from epoch ${o.output.lock.reshared_from?.switch_epoch}`,
    );
    console.log(`wrote ${o.outDir}/cluster-lock.json, validator_keys/, deposit-data.json`);
  });
}
