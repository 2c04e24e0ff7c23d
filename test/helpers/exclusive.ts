import {createServer} from "node:net";
import {userInfo} from "node:os";

/** How often a waiting suite tries the lock again: cheap (one bind), and a suite holds it for tens of seconds. */
const RETRY_MS = 200;

/**
 * A cross-process lock for the suites that run several node processes and measure latency: two four-node
 * clusters on a 2-core machine would measure each other, not r3dv.
 *
 * The lock is a listening socket in Linux's abstract namespace: the kernel frees it the moment its holder
 * exits, however it exits. A lock directory with the holder's pid (the earlier design) outlives a killed
 * holder, and a recycled pid then holds it forever.
 */
export async function acquireExclusive(name: string, timeoutMs = 900_000): Promise<() => Promise<void>> {
  const address = `\0${name}-${userInfo().uid}`;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const server = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({path: address}, resolve);
      });
      // Holding the lock must not keep a finished test file alive.
      server.unref();
      return () => new Promise<void>((resolve) => server.close(() => resolve()));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
      if (Date.now() > end) throw new Error(`lock ${name} still held after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, RETRY_MS));
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
