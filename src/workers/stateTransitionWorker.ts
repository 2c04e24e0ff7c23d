// First: the native hasher must be set before the SSZ code below is loaded.
import "../util/nativeHasher.js";
import {BlockVerifier} from "../roles/evm/blockVerifier.js";
import {configFromDescription} from "../roles/evm/chainDescription.js";
import {EvmError} from "../roles/evm/errors.js";
import type {StateTransitionResult, StateTransitionTask} from "./stateTransitionTasks.js";
import {VERIFICATION_NICE, lowerThreadPriority} from "./threadPriority.js";

lowerThreadPriority(VERIFICATION_NICE);

/**
 * The thread's verifier and the states it keeps: they live here, between tasks, so a block costs its own
 * transition and never a state's transfer between threads. A new thread (after a crash) has none, and says so.
 */
let verifier: BlockVerifier | null = null;

export default function run(task: StateTransitionTask): StateTransitionResult {
  switch (task.kind) {
    case "bootstrap":
      verifier = new BlockVerifier(configFromDescription(task.chain));
      return verifier.bootstrap(task.state);
    case "verify":
      if (!verifier)
        throw new EvmError({code: "EVM_BAD_ANCHOR", reason: "no anchor"}, "this thread has no anchor state yet");
      return verifier.verify(task.block);
    case "checkpoints":
      return verifier?.attestationCheckpoints(task.root, task.slot) ?? null;
  }
}
