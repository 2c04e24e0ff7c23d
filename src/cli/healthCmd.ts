import type {Command} from "commander";
import {ipcRequest} from "../api/ipc.js";
import type {HealthReport} from "../node/health.js";
import {socketPath, withIpcOptions} from "./ipcOptions.js";

/** One line a check: failing ones first, with what to do. */
export function formatHealth(h: HealthReport): string {
  const failing = h.checks.filter((c) => !c.ok);
  const lines = [`health ${h.status.toUpperCase()}: ${failing.length} of ${h.checks.length} checks failing`];
  for (const c of failing) lines.push(`  FAIL ${c.severity} ${c.name}: ${c.detail}; ${c.action ?? ""}`);
  for (const c of h.checks.filter((x) => x.ok)) lines.push(`  ok   ${c.name}: ${c.detail}`);
  return lines.join("\n");
}

export function registerHealth(program: Command): void {
  withIpcOptions(
    program.command("health").summary("named health checks with what to do; exit code 1 while a critical one fails"),
  ).action(async (flags: {ipc?: string; dataDir?: string; json?: boolean}) => {
    const h = await ipcRequest<HealthReport>(socketPath(flags), "health");
    console.log(flags.json ? JSON.stringify(h, null, 2) : formatHealth(h));
    if (h.status === "critical") process.exitCode = 1;
  });
}
