import {mkdir, readFile, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";

/**
 * A cross-process lock for the suites that run several node processes and measure latency: `node --test`
 * runs files in parallel, and two four-node clusters on a 2-core machine would measure each other, not r3dv.
 * mkdir is atomic; a lock whose owner pid is gone is stale and taken over.
 */
export async function acquireExclusive(name: string, timeoutMs = 900_000): Promise<() => Promise<void>> {
  const dir = join(tmpdir(), `${name}.lock`);
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, "pid"), String(process.pid));
      return () => rm(dir, {recursive: true, force: true});
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(await readFile(join(dir, "pid"), "utf8").catch(() => "0"));
      if (pid > 0 && !alive(pid)) await rm(dir, {recursive: true, force: true});
      if (Date.now() > end) throw new Error(`${dir} still held after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
