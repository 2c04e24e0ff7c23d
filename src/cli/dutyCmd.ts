import {type Command, InvalidArgumentError} from "commander";
import {ipcRequest} from "../api/ipc.js";
import {type DutyTrail, formatDutyTrail} from "../node/dutyTrail.js";
import {socketPath, withIpcOptions} from "./ipcOptions.js";

function nonNegative(v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw new InvalidArgumentError("expected a non-negative integer");
  return Number(v);
}

export function registerDuty(program: Command): void {
  withIpcOptions(
    program
      .command("duty")
      .summary(
        "why a slot's duties went as they did: outcome and reason first, then consensus, partial signatures and timeline",
      )
      .argument("<SLOT>", "the slot", nonNegative)
      .option("--validator <INDEX>", "only this validator's duties", nonNegative),
  ).action(async (slot: number, flags: {ipc?: string; dataDir?: string; json?: boolean; validator?: number}) => {
    const trail = await ipcRequest<DutyTrail>(socketPath(flags), "duty", {
      slot,
      ...(flags.validator === undefined ? {} : {validator: flags.validator}),
    });
    console.log(flags.json ? JSON.stringify(trail, null, 2) : formatDutyTrail(trail));
  });
}
