import {executePayload, type ExecutionOutcome} from "../roles/evm/payloadExecutor.js";
import type {ExecutionTask} from "./executionPool.js";
import {VERIFICATION_NICE, lowerThreadPriority} from "./threadPriority.js";

lowerThreadPriority(VERIFICATION_NICE);

export default function run(task: ExecutionTask): Promise<ExecutionOutcome> {
  return executePayload(task.rpcUrl, task.input, task.timeoutMs);
}
