import {Piscina} from "piscina";
import type {ExecutionInput, ExecutionOutcome} from "../roles/evm/payloadExecutor.js";
import {WORKER_EVENT_LOOP} from "./workerEventLoop.js";

export interface ExecutionTask {
  rpcUrl: string;
  input: ExecutionInput;
  timeoutMs: number;
}

/**
 * The EVM role's execution thread: re-executes payloads (payloadExecutor.ts) off the main thread, beside the state
 * transition thread, so a block's consensus checks and the next block's execution overlap and neither blocks the
 * duties' event loop. One thread: blocks are settled in order, one at a time.
 */
export class ExecutionPool {
  private readonly piscina = new Piscina({
    filename: new URL("./executionWorker.js", import.meta.url).href,
    minThreads: 1,
    maxThreads: 1,
    ...WORKER_EVENT_LOOP,
  });

  execute(task: ExecutionTask): Promise<ExecutionOutcome> {
    return this.piscina.run(task) as Promise<ExecutionOutcome>;
  }

  async close(): Promise<void> {
    await this.piscina.close();
  }
}
