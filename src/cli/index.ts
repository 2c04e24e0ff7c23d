import {Command, CommanderError} from "commander";
import {R3dvError, errorMessage} from "../util/errors.js";
import {registerCreateCluster} from "./createClusterCmd.js";
import {registerCreateDefinition} from "./createDefinitionCmd.js";
import {registerCreateIdentity} from "./createIdentityCmd.js";
import {registerDevnetBeacon} from "./devnetBeaconCmd.js";
import {registerDevnet} from "./devnetCmd.js";
import {registerDkg} from "./dkgCmd.js";
import {registerReshare} from "./reshareCmd.js";
import {registerRetire} from "./retireCmd.js";
import {registerDuty} from "./dutyCmd.js";
import {registerExit} from "./exitCmd.js";
import {registerHealth} from "./healthCmd.js";
import {registerSlashingProtection} from "./slashingProtectionCmd.js";
import {registerVerifyCluster} from "./verifyClusterCmd.js";
import {registerLimiters} from "./limitersCmd.js";
import {registerPeers} from "./peersCmd.js";
import {registerRun} from "./runCmd.js";
import {registerSeries} from "./seriesCmd.js";
import {registerStatus} from "./statusCmd.js";

export function buildProgram(): Command {
  const program = new Command("r3dv")
    .description("r3dv: a distributed Ethereum validator. One validator key, split m-of-n across machines.")
    .version(process.env.npm_package_version ?? "0.1.0")
    .showHelpAfterError("(run r3dv --help for the commands, r3dv <command> --help for their flags)")
    .exitOverride();
  registerCreateCluster(program);
  registerCreateIdentity(program);
  registerCreateDefinition(program);
  registerDkg(program);
  registerReshare(program);
  registerRetire(program);
  registerVerifyCluster(program);
  registerSlashingProtection(program);
  registerDevnetBeacon(program);
  registerDevnet(program);
  registerRun(program);
  registerStatus(program);
  registerHealth(program);
  registerPeers(program);
  registerSeries(program);
  registerDuty(program);
  registerLimiters(program);
  registerExit(program);
  return program;
}

/** Exit codes: 0 success, 1 the command failed (message says why), 2 bad usage. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // A command that ran but reports a failing state (`r3dv health` with a critical check) sets the exit code.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help"
        ? 0
        : 2;
    }
    if (e instanceof R3dvError) {
      console.error(`r3dv: error: ${e.message}`);
      return e.code === "CLUSTER_BAD_OPTION" ||
        e.code === "DEFINITION_BAD_OPTION" ||
        e.code === "DKG_BAD_OPTION" ||
        e.code === "CLUSTER_OUT_NOT_EMPTY" ||
        e.code === "DEVNET_BAD_OPTION" ||
        e.code === "CONFIG_BAD_FLAG"
        ? 2
        : 1;
    }
    console.error(`r3dv: unexpected error: ${errorMessage(e)}`);
    if (e instanceof Error && e.stack) console.error(e.stack);
    return 1;
  }
}
