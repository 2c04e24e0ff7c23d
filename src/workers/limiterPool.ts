import {Piscina} from "piscina";
import type {ChainReport} from "../storage/chainVerify.js";
import type {LimiterTask, WindowReport} from "./limiterTasks.js";
import {WORKER_EVENT_LOOP} from "./workerEventLoop.js";

/**
 * Long-window limiter evaluation and chain audits: scans of up to the whole series, which would stall the
 * network for seconds on the main thread. Admission itself never waits for this pool (it reads the
 * incremental views); the pool answers operators (`r3dv limiters`, `r3dv series --verify`) and audits.
 */
export class LimiterPool {
  private readonly piscina: Piscina;

  constructor(size: number) {
    this.piscina = new Piscina({
      filename: new URL("./limiterWorker.js", import.meta.url).href,
      minThreads: 1,
      maxThreads: size,
      // Opening LMDB in a worker costs a few ms: keep idle workers for a minute between operator queries.
      idleTimeout: 60_000,
      ...WORKER_EVENT_LOOP,
    });
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  verifyChain(dir: string): Promise<ChainReport> {
    return this.piscina.run({kind: "verifyChain", dir} satisfies LimiterTask) as Promise<ChainReport>;
  }

  window(dir: string, entries: number): Promise<WindowReport> {
    return this.piscina.run({kind: "window", dir, entries} satisfies LimiterTask) as Promise<WindowReport>;
  }

  async close(): Promise<void> {
    await this.piscina.close();
  }
}
