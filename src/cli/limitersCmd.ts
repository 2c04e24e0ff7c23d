import {type Command, InvalidArgumentError} from "commander";
import {ipcRequest} from "../api/ipc.js";
import {socketPath, withIpcOptions} from "./ipcOptions.js";

export function registerLimiters(program: Command): void {
  withIpcOptions(
    program
      .command("limiters")
      .summary("a running node's limiter counters, and refusals per peer over a long window of its series")
      .option("--window <N>", "entries to evaluate (default 100000)", (v: string) => {
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError("expected a positive integer");
        return n;
      }),
  ).action(async (flags: {ipc?: string; dataDir?: string; json?: boolean; window?: number}) => {
    const r = await ipcRequest(socketPath(flags), "limiters", {window: flags.window ?? 100_000});
    console.log(JSON.stringify(r, null, 2));
  });
}
