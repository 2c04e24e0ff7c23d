import {type Command, InvalidArgumentError} from "commander";
import {ipcRequest} from "../api/ipc.js";
import {socketPath, withIpcOptions} from "./ipcOptions.js";

function epochArg(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected an epoch number, got ${JSON.stringify(value)}`);
  return Number(value);
}

export function registerRetire(program: Command): void {
  withIpcOptions(
    program
      .command("retire")
      .summary("stop this node signing for its lock from an epoch on: the old lock's side of a reshare")
      .description(
        "After `r3dv reshare`, two locks hold shares of the same validator keys. Every old operator retires its " +
          "running node at the reshare's switch epoch: from it on the node signs nothing slashable (the new lock " +
          "signs), written to DATA_DIR/retirement.json before this command returns, so a restart keeps it. A " +
          "retirement moves earlier, never later.",
      )
      .requiredOption("--epoch <E>", "the first epoch this node signs nothing in (the switch epoch)", epochArg),
  ).action(async (flags: {ipc?: string; dataDir?: string; json?: boolean; epoch: number}) => {
    const r = await ipcRequest<{retiredFromEpoch: number; signsFromEpoch: number}>(socketPath(flags), "retire", {
      epoch: flags.epoch,
    });
    if (flags.json) return console.log(JSON.stringify(r, null, 2));
    console.log(`retired: this node signs nothing slashable from epoch ${r.retiredFromEpoch} on`);
  });
}
