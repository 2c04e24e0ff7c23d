import {spawn} from "node:child_process";
import {mkdtemp} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {fileURLToPath} from "node:url";

/** The built CLI entry point (tests run from dist/test/...). */
export const MAIN = fileURLToPath(new URL("../../src/main.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `r3dv ARGS` as a real process with this Node; kills it if it outlives `timeoutMs`. */
export function runR3dv(
  args: string[],
  opts: {timeoutMs?: number; env?: NodeJS.ProcessEnv; node?: string; nodeArgs?: string[]} = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.node ?? process.execPath, [...(opts.nodeArgs ?? []), MAIN, ...args], {
      env: {...process.env, ...opts.env},
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({code, stdout, stderr});
    });
  });
}

export function tempDir(prefix = "r3dv-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
