import {spawn} from "node:child_process";

/**
 * Another program keeping one core busy, as the software users run beside r3dv does: a Node process spinning at
 * the same priority as the nodes. It spins in 50 ms slices so that it can answer SIGTERM with the CPU time it
 * really took, which proves it competed for the whole run.
 */
const HOG = `
const started = Date.now();
process.on("SIGTERM", () => {
  const u = process.cpuUsage();
  process.stdout.write(JSON.stringify({cpuMs: (u.user + u.system) / 1000, wallMs: Date.now() - started}), () => process.exit(0));
});
const spin = () => { const end = Date.now() + 50; while (Date.now() < end); setImmediate(spin); };
spin();
`;

export interface CpuHog {
  /** Stops it and says how much CPU it took over how long. */
  stop(): Promise<{cpuMs: number; wallMs: number}>;
  /** SIGKILL, for the paths where the test failed before `stop`. */
  kill(): void;
}

export function startCpuHog(): CpuHog {
  const child = spawn(process.execPath, ["-e", HOG], {stdio: ["ignore", "pipe", "ignore"]});
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    async stop() {
      child.kill("SIGTERM");
      await exited;
      return JSON.parse(out) as {cpuMs: number; wallMs: number};
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
