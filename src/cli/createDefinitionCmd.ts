import type {Command} from "commander";
import {DEFINITION_FILE, DefinitionError, buildDefinition, writeDefinition} from "../cluster/definition.js";
import {loadLock} from "../cluster/lock.js";
import {NETWORK_NAMES} from "../cluster/network.js";
import {buildReshareDefinition} from "../cluster/reshareDefinition.js";

interface RawOptions {
  operators: string;
  threshold?: string;
  validators?: string;
  network: string;
  withdrawalAddress?: string;
  reshareFrom?: string;
  dealers?: string;
  switchEpoch?: string;
  feeRecipient?: string;
  compounding?: boolean;
  gasLimit?: string;
  name: string;
  out: string;
}

function required(option: string, value: string | undefined): string {
  if (value !== undefined) return value;
  const reason = "required unless --reshare-from is given";
  throw new DefinitionError({code: "DEFINITION_BAD_OPTION", option, reason}, `${option}: ${reason}`);
}

function int(option: string, value: string): number {
  if (!/^\d+$/.test(value)) {
    const reason = `expected a whole number, got ${JSON.stringify(value)}`;
    throw new DefinitionError({code: "DEFINITION_BAD_OPTION", option, reason}, `${option}: ${reason}`);
  }
  return Number(value);
}

export function registerCreateDefinition(program: Command): void {
  program
    .command("create-definition")
    .summary("write the cluster definition every operator runs `r3dv dkg` with")
    .description(
      "Write a cluster definition (operators, threshold, validators, network, withdrawal and fee addresses) with a " +
        "definition hash. Every operator checks the hash before the DKG; the ceremony stops on any mismatch.",
    )
    .requiredOption("--operators <PEERID@HOST:PORT,...>", "each operator's peer id (create-identity) and p2p address")
    .option("--threshold <M>", "signatures needed (default ceil(2N/3); must be more than N/2)")
    .option("--validators <V>", "number of validator keys the DKG creates (not with --reshare-from)")
    .option("--network <NAME>", `${NETWORK_NAMES.join("|")}: fork version and deposit domain`, "mainnet")
    .option("--withdrawal-address <0x..>", "execution address that receives withdrawals (not with --reshare-from)")
    .option("--fee-recipient <0x..>", "execution address for priority fees (default: the withdrawal address)")
    .option("--compounding", "use 0x02 (compounding, EIP-7251) withdrawal credentials")
    .option("--gas-limit <GAS>", "gas limit the validators' builder registrations ask for (default 60000000)")
    .option("--name <NAME>", "cluster name recorded in the definition and the lock", "r3dv-cluster")
    .option(
      "--reshare-from <LOCK>",
      "a reshare of this cluster-lock.json: new operators and threshold for its validators, whose keys, network, " +
        "withdrawal and fee settings stay (run r3dv reshare)",
    )
    .option("--dealers <I,J,..>", "with --reshare-from: old operator indices that deal their shares (default all)")
    .option("--switch-epoch <E>", "with --reshare-from: the epoch from which the new lock signs (default 0: at once)")
    .requiredOption("--out <FILE>", `file to write, by convention ${DEFINITION_FILE} (never overwritten)`)
    .action(async (raw: RawOptions, command: Command) => {
      const threshold = raw.threshold === undefined ? undefined : int("--threshold", raw.threshold);
      const {definition, warning} =
        raw.reshareFrom === undefined
          ? buildDefinition({
              operators: raw.operators.split(","),
              threshold,
              validators: int("--validators", required("--validators", raw.validators)),
              network: raw.network,
              withdrawalAddress: required("--withdrawal-address", raw.withdrawalAddress),
              feeRecipient: raw.feeRecipient,
              compounding: raw.compounding,
              gasLimit: raw.gasLimit === undefined ? undefined : int("--gas-limit", raw.gasLimit),
              name: raw.name,
            })
          : buildReshareDefinition({
              oldLock: await loadLock(raw.reshareFrom),
              operators: raw.operators.split(","),
              threshold,
              dealers: raw.dealers?.split(",").map((d) => int("--dealers", d.trim())),
              switchEpoch: raw.switchEpoch === undefined ? undefined : int("--switch-epoch", raw.switchEpoch),
              ...(command.getOptionValueSource("name") === "default" ? {} : {name: raw.name}),
            });
      if (warning) console.error(`warning: ${warning}`);
      await writeDefinition(raw.out, definition);
      console.log(`wrote ${raw.out}`);
      console.log(`  definition_hash  ${definition.definition_hash}`);
      console.log(`  threshold        ${definition.threshold} of ${definition.operators.length}`);
      console.log(`  validators       ${definition.validators} on ${definition.network}`);
      if (definition.reshare === undefined) {
        console.log(`give the file to every operator; each runs r3dv dkg --definition FILE --node-dir DIR`);
        return;
      }
      console.log(`  reshares lock    ${definition.reshare.lock_hash}`);
      console.log(`  dealers          old operators ${definition.reshare.dealers.join(", ")}`);
      console.log(`  switch epoch     ${definition.reshare.switch_epoch}`);
      console.log(
        `give the file and the old lock to every new operator and dealer; each runs r3dv reshare --definition ` +
          `FILE --node-dir DIR (an old operator adds --out-dir NEW_DIR)`,
      );
    });
}
