import {open} from "node:fs/promises";
import {setTimeout as sleep} from "node:timers/promises";
import type {Child} from "./processes.js";

/**
 * What a node logs (at warn) once its key shares are decrypted and it waits for the beacon node: the sign that
 * its slow start (key derivation for every share) is behind it.
 */
export const KEYS_LOADED_LINE = "validator duties wait for the beacon node";

/** What a node logs (at info) once its duty services run: its restart is over. */
export const DUTIES_STARTED_LINE = "validator duties started";

/** Waits until `log`, read from byte `from`, contains `needle`; false if the process exits, the time runs out or the run is interrupted. */
export async function waitForLogLine(
  log: string,
  from: number,
  needle: string,
  child: Pick<Child, "alive">,
  deadlineMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  let text = "";
  let offset = from;
  while (Date.now() < deadlineMs && !signal.aborted && child.alive()) {
    const f = await open(log, "r");
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const {bytesRead} = await f.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        // Keep only a tail the needle could straddle: logs grow, the search must not.
        text = (text + buf.subarray(0, bytesRead).toString("utf8")).slice(-(64 * 1024 + needle.length));
        if (text.includes(needle)) return true;
      }
    } finally {
      await f.close();
    }
    await sleep(200);
  }
  return false;
}
