import {readlinkSync} from "node:fs";
import {setPriority} from "node:os";

/**
 * Verification work runs at this nice value (0 is normal, 19 the lowest): a block's state transition and its
 * payload's re-execution take tens to hundreds of ms of CPU, and on a machine shared with the duties (2 cores in
 * the devnet for four nodes and the beacon node) they must yield to the duty threads, whose deadline is a third of
 * a slot. 10 still gets the thread about a tenth of a contended core, enough to keep up with one block a slot.
 */
export const VERIFICATION_NICE = 10;

/**
 * Lowers the calling thread's CPU priority, not the process's: on Linux setpriority on a thread id applies to that
 * thread only, and /proc/thread-self names it. Elsewhere (or without the right) it does nothing and says so.
 */
export function lowerThreadPriority(nice: number): boolean {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isSafeInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
