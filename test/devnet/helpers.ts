import {spawn, type ChildProcess} from "node:child_process";
import {once} from "node:events";
import {type CliResult, MAIN, runR3dv} from "../helpers/cli.js";

export {MAIN};

/** The devnet's /r3dv/v1/effectiveness answer, read from its beacon state: what cluster tests judge by. */
export interface Effectiveness {
  data: {
    epochs: {
      epoch: number;
      validators: {index: number; included: boolean; correct_target: boolean}[];
      missed_proposals: number[];
      sync_committee: {blocks: number; bits_set: number; participation: number | null};
      aggregates: {accepted: number; included: number; not_included: unknown[]};
      subscriptions: {beacon_committee: number; aggregators: number; sync_committee: number};
    }[];
  };
}

export interface RunningDevnet {
  url: string;
  genesisTime: number;
  child: ChildProcess;
  stderr: () => string;
  stop: () => Promise<void>;
}

/**
 * The arguments of a devnet beside a test cluster: `validators` in all, the devnet signing for `own` (a..b) itself,
 * genesis `genesisDelaySec` after its start, logging warnings only.
 */
export function devnetArgs(o: {validators: number; own: string; slotMs: number; genesisDelaySec: number}): string[] {
  return [
    "--validators",
    String(o.validators),
    "--own",
    o.own,
    "--slot-ms",
    String(o.slotMs),
    "--genesis-delay",
    String(o.genesisDelaySec),
    "--log-level",
    "warn",
  ];
}

/** Spawns `r3dv devnet-beacon` on a free port and waits until it prints its URL and genesis time. */
export async function spawnDevnet(args: string[], startTimeoutMs = 60_000): Promise<RunningDevnet> {
  // The child chooses its own preset; a test process that set one for its client must not pass it down.
  const env = {...process.env};
  delete env.LODESTAR_PRESET;
  const child = spawn(process.execPath, [MAIN, "devnet-beacon", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    if (child.pid !== undefined) process.kill(child.pid, "SIGTERM");
    const timer = setTimeout(
      () => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, "SIGKILL"),
      5000,
    );
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + startTimeoutMs;
  while (!/genesis time \d+/.test(out)) {
    if (child.exitCode !== null) throw new Error(`devnet exited with ${child.exitCode}: ${err}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`devnet did not start within ${startTimeoutMs} ms: ${out} ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = (/listening on (http:\/\/\S+)/.exec(out) as RegExpExecArray)[1] as string;
  const genesisTime = Number((/genesis time (\d+)/.exec(out) as RegExpExecArray)[1]);
  return {url, genesisTime, child, stderr: () => err, stop};
}

/** Runs the CLI to completion (for flag errors) and returns its exit code and output. */
export function runCli(args: string[]): Promise<CliResult> {
  return runR3dv(args, {timeoutMs: 60_000});
}

export async function getJson<T>(url: string): Promise<{status: number; headers: Headers; body: T}> {
  const res = await fetch(url);
  return {status: res.status, headers: res.headers, body: (await res.json()) as T};
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms until it holds; past `timeoutMs`, fails naming `what` was waited for. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
