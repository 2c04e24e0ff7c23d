import {readdir} from "node:fs/promises";
import {setPriority} from "node:os";
import {errorMessage} from "../util/errors.js";
import {DUTIES_STARTED_LINE, waitForLogLine} from "./logWatch.js";
import type {Child} from "./processes.js";

/** Linux's lowest scheduling priority (nice 19). */
export const LOWEST_PRIORITY = 19;

/**
 * A devnet's nodes share one machine's cores, and a restarting node spends seconds of every core deriving its
 * share keys: enough to starve the running nodes' consensus for a slot or two, which on separate machines (the
 * real deployment) cannot happen. So a restarted node runs at the lowest CPU priority until its duties start.
 * Raising it back needs CAP_SYS_NICE (root has it); without, the node stays low, and the report says so.
 */
export async function deprioritizeWhileStarting(
  child: Pick<Child, "pid" | "alive">,
  log: string,
  from: number,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<string> {
  try {
    await setProcessPriority(child.pid, LOWEST_PRIORITY);
  } catch (e) {
    return `not deprioritized during key derivation: ${errorMessage(e)}`;
  }
  const started = await waitForLogLine(log, from, DUTIES_STARTED_LINE, child, Date.now() + timeoutMs, signal);
  try {
    await setProcessPriority(child.pid, 0);
    return `ran at nice ${LOWEST_PRIORITY} until its duties started${started ? "" : " (they did not)"}`;
  } catch {
    return `stays at nice ${LOWEST_PRIORITY}: raising a priority needs CAP_SYS_NICE`;
  }
}

/**
 * Linux sets a priority per thread (`setpriority` on a pid is its main thread only, and new threads inherit
 * their creator's): every thread of the process, listed in /proc, gets it. Elsewhere, the pid alone.
 */
export async function setProcessPriority(pid: number, priority: number): Promise<void> {
  const tids = await readdir(`/proc/${pid}/task`).then(
    (t) => t.map(Number),
    () => [pid],
  );
  for (const tid of tids) {
    try {
      setPriority(tid, priority);
    } catch (e) {
      // A thread that ended between the listing and now is no failure; any other refusal is.
      if ((e as {code?: string}).code !== "ESRCH" && tid === pid) throw e;
    }
  }
}
