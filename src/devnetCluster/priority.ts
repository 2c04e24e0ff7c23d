import {readFile, readdir} from "node:fs/promises";
import {setPriority} from "node:os";
import {setTimeout as sleep} from "node:timers/promises";
import {errorMessage} from "../util/errors.js";
import {DUTIES_STARTED_LINE, waitForLogLine} from "./logWatch.js";
import type {Child} from "./processes.js";

/** Linux's lowest scheduling priority (nice 19). */
export const LOWEST_PRIORITY = 19;

/** CAP_SYS_NICE's bit in a capability set: what raising a lowered priority back needs. */
const CAP_SYS_NICE = 23n;
/**
 * Without CAP_SYS_NICE a starting node is paused and resumed instead (SIGSTOP, SIGCONT): running 100 ms of every
 * 300 ms, it takes a third of a core at most while it derives its keys (about three times as long), and nothing
 * is left lowered once its duties start.
 */
const THROTTLE_RUN_MS = 100;
const THROTTLE_PAUSE_MS = 200;

/** Whether this process may raise a priority it lowered (CAP_SYS_NICE in its effective set; root outside a container has it). */
export async function canRaisePriority(): Promise<boolean> {
  const status = await readFile("/proc/self/status", "utf8").catch(() => "");
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? ((BigInt(`0x${m[1]}`) >> CAP_SYS_NICE) & 1n) === 1n : false;
}

/**
 * A devnet's nodes share one machine's cores, and a restarting node spends seconds of every core deriving its
 * share keys: enough to starve the running nodes' consensus for a slot or two, which on separate machines (the
 * real deployment) cannot happen. So a restarted node runs at the lowest CPU priority until its duties start.
 * Where raising it back is not allowed (no CAP_SYS_NICE: any user but root, most containers), lowering it would
 * leave the node at nice 19 for good, starved on a busy machine (seen: a restarted node that never submitted
 * again); there it is paused and resumed instead until its duties start.
 */
export async function deprioritizeWhileStarting(
  child: Pick<Child, "pid" | "alive">,
  log: string,
  from: number,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<string> {
  if (!(await canRaisePriority())) return throttleWhileStarting(child, log, from, signal, timeoutMs);
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

/** Pauses and resumes a starting node (a third of the time running) until its duties start; see deprioritizeWhileStarting. */
export async function throttleWhileStarting(
  child: Pick<Child, "pid" | "alive">,
  log: string,
  from: number,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<string> {
  let done = false;
  const started = waitForLogLine(log, from, DUTIES_STARTED_LINE, child, Date.now() + timeoutMs, signal).finally(
    () => (done = true),
  );
  try {
    while (!done && child.alive()) {
      await sleep(THROTTLE_RUN_MS);
      if (done) break;
      process.kill(child.pid, "SIGSTOP");
      await sleep(THROTTLE_PAUSE_MS);
      process.kill(child.pid, "SIGCONT");
    }
  } catch (e) {
    if ((e as {code?: string}).code !== "ESRCH") return `throttling stopped: ${errorMessage(e)}`;
  } finally {
    try {
      process.kill(child.pid, "SIGCONT");
    } catch {
      // Already gone.
    }
  }
  return `ran a third of the time (paused and resumed; no CAP_SYS_NICE to lower its priority and raise it back) until its duties started${(await started) ? "" : " (they did not)"}`;
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
