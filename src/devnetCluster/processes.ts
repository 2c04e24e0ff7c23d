import {type ChildProcess, spawn} from "node:child_process";
import {once} from "node:events";
import {closeSync, openSync} from "node:fs";
import {writeFile} from "node:fs/promises";
import {fileURLToPath} from "node:url";

/** This build's CLI entry point: every child is this same r3dv, run by this same Node. */
export const R3DV_MAIN = fileURLToPath(new URL("../main.js", import.meta.url));

/** How long a child may take to stop on SIGTERM (LMDB commit, libp2p close) before it is killed. */
const STOP_GRACE_MS = 10_000;

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** Resolves with the exit code, or the signal's name, once the process is gone. */
  exited: Promise<number | string>;
  alive(): boolean;
}

/**
 * Starts and stops every process of a devnet run, and remembers each one it ever started (in
 * OUT/processes.json too), so that on every path out of the run (the end, an error, SIGINT) none is left behind.
 */
export class Supervisor {
  private readonly children: Child[] = [];

  constructor(private readonly pidFile: string) {}

  /** `r3dv ARGS` as a child; its stdout and stderr are appended to `log` by the kernel, not piped through us. */
  async start(name: string, args: string[], log: string): Promise<Child> {
    const fd = openSync(log, "a");
    let proc: ChildProcess;
    try {
      proc = spawn(process.execPath, [R3DV_MAIN, ...args], {stdio: ["ignore", fd, fd]});
    } finally {
      closeSync(fd);
    }
    if (proc.pid === undefined) await once(proc, "error");
    const exited = new Promise<number | string>((resolve) =>
      proc.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
    );
    const child: Child = {
      name,
      pid: proc.pid as number,
      proc,
      exited,
      alive: () => proc.exitCode === null && proc.signalCode === null,
    };
    this.children.push(child);
    await this.writePids();
    return child;
  }

  kill(child: Child): Promise<number | string> {
    if (child.alive()) child.proc.kill("SIGKILL");
    return child.exited;
  }

  /** SIGTERM, then SIGKILL for whatever is still running after the grace period. */
  async stop(child: Child): Promise<void> {
    if (!child.alive()) return;
    child.proc.kill("SIGTERM");
    const timer = setTimeout(() => child.alive() && child.proc.kill("SIGKILL"), STOP_GRACE_MS);
    await child.exited;
    clearTimeout(timer);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.children.map((c) => this.stop(c)));
  }

  /** Last resort on process exit (synchronous: no awaiting there): kill what is still running. */
  killAllNow(): void {
    for (const c of this.children) if (c.alive()) c.proc.kill("SIGKILL");
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid);
  }

  private writePids(): Promise<void> {
    const list = this.children.map((c) => ({name: c.name, pid: c.pid}));
    return writeFile(this.pidFile, JSON.stringify(list, null, 2) + "\n");
  }
}
