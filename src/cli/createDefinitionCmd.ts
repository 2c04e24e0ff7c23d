import type {Command} from "commander";
import {DEFINITION_FILE, DefinitionError, buildDefinition, writeDefinition} from "../cluster/definition.js";
import {NETWORK_NAMES} from "../cluster/network.js";

interface RawOptions {
  operators: string;
  threshold?: string;
  validators: string;
  network: string;
  withdrawalAddress: string;
  feeRecipient?: string;
  compounding?: boolean;
  gasLimit?: string;
  name: string;
  out: string;
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
    .requiredOption("--validators <V>", "number of validator keys the DKG creates")
    .option("--network <NAME>", `${NETWORK_NAMES.join("|")}: fork version and deposit domain`, "mainnet")
    .requiredOption("--withdrawal-address <0x..>", "execution address that receives withdrawals")
    .option("--fee-recipient <0x..>", "execution address for priority fees (default: the withdrawal address)")
    .option("--compounding", "use 0x02 (compounding, EIP-7251) withdrawal credentials")
    .option("--gas-limit <GAS>", "gas limit the validators' builder registrations ask for (default 60000000)")
    .option("--name <NAME>", "cluster name recorded in the definition and the lock", "r3dv-cluster")
    .requiredOption("--out <FILE>", `file to write, by convention ${DEFINITION_FILE} (never overwritten)`)
    .action(async (raw: RawOptions) => {
      const {definition, warning} = buildDefinition({
        operators: raw.operators.split(","),
        threshold: raw.threshold === undefined ? undefined : int("--threshold", raw.threshold),
        validators: int("--validators", raw.validators),
        network: raw.network,
        withdrawalAddress: raw.withdrawalAddress,
        feeRecipient: raw.feeRecipient,
        compounding: raw.compounding,
        gasLimit: raw.gasLimit === undefined ? undefined : int("--gas-limit", raw.gasLimit),
        name: raw.name,
      });
      if (warning) console.error(`warning: ${warning}`);
      await writeDefinition(raw.out, definition);
      console.log(`wrote ${raw.out}`);
      console.log(`  definition_hash  ${definition.definition_hash}`);
      console.log(`  threshold        ${definition.threshold} of ${definition.operators.length}`);
      console.log(`  validators       ${definition.validators} on ${definition.network}`);
      console.log(`give the file to every operator; each runs r3dv dkg --definition FILE --node-dir DIR`);
    });
}
