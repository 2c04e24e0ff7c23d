import {join, resolve} from "node:path";
import {type Command, Option} from "commander";
import {IPC_SOCKET_FILE} from "../node/config.js";
import {R3dvError} from "../util/errors.js";

export type IpcFlagErrorType = {code: "CONFIG_BAD_FLAG"; flag: string; env: string; reason: string};
export class IpcFlagError extends R3dvError<IpcFlagErrorType> {}

/** The node's socket: --ipc, else DATA_DIR/r3dv.sock (the same defaults and variables as `r3dv run`). */
export function withIpcOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--ipc <PATH>", "the node's IPC socket").env("R3DV_IPC"))
    .addOption(
      new Option("--data-dir <DIR>", "the node's data dir (its socket is DATA_DIR/r3dv.sock)").env("R3DV_DATA_DIR"),
    )
    .addOption(new Option("--json", "print raw JSON"));
}

export function socketPath(flags: {ipc?: string; dataDir?: string}): string {
  if (flags.ipc) return resolve(flags.ipc);
  if (flags.dataDir) return join(resolve(flags.dataDir), IPC_SOCKET_FILE);
  throw new IpcFlagError(
    {code: "CONFIG_BAD_FLAG", flag: "--ipc", env: "R3DV_IPC", reason: "missing"},
    "give the node's --ipc socket or its --data-dir (or R3DV_IPC / R3DV_DATA_DIR)",
  );
}
