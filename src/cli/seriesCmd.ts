import {type Command, InvalidArgumentError} from "commander";
import {ipcRequest} from "../api/ipc.js";
import type {ChainReport} from "../storage/chainVerify.js";
import {socketPath, withIpcOptions} from "./ipcOptions.js";

function intArg(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 10_000) throw new InvalidArgumentError("expected an integer from 1 to 10000");
  return n;
}

export function registerSeries(program: Command): void {
  withIpcOptions(
    program
      .command("series")
      .summary("the last entries of a running node's series; --verify walks the hash chain")
      .option("--tail <N>", "how many entries (default 20)", intArg, 20)
      .option("--kind <K>", "only chunk entries of this kind, or entries of this type (e.g. chunk_refused)")
      .option("--verify", "verify the whole hash chain (runs in the node's worker pool)"),
  ).action(
    async (flags: {ipc?: string; dataDir?: string; json?: boolean; tail: number; kind?: string; verify?: boolean}) => {
      const r = await ipcRequest<{
        lastSeq: number;
        headHash: string;
        entries: Record<string, unknown>[];
        verify?: ChainReport;
      }>(socketPath(flags), "series", {
        tail: flags.tail,
        kind: flags.kind,
        verify: flags.verify ?? false,
      });
      if (flags.json) {
        console.log(JSON.stringify(r, null, 2));
      } else {
        for (const e of r.entries) console.log(JSON.stringify(e));
        console.log(`head ${r.lastSeq} ${r.headHash}`);
      }
      if (r.verify) {
        if (!flags.json)
          console.log(
            r.verify.ok
              ? `chain verified: ${r.verify.entries} entries, ${r.verify.firstSeq}..${r.verify.lastSeq}`
              : `CHAIN BROKEN: ${r.verify.error}`,
          );
        if (!r.verify.ok) process.exitCode = 1;
      }
    },
  );
}
