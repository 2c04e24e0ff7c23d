import {Piscina} from "piscina";
import type {AnchorInfo, AttestationCheckpoints, VerifyOutcome} from "../roles/evm/blockVerifier.js";
import type {ChainDescription} from "../roles/evm/chainDescription.js";
import type {StateTransitionTask} from "./stateTransitionTasks.js";
import {WORKER_EVENT_LOOP} from "./workerEventLoop.js";

/**
 * The EVM role's state transition thread: bootstraps from an anchor state, then verifies blocks on the states it
 * keeps (BlockVerifier). One thread, always the same one, because the states live in it: a block is verified
 * on its parent's state, which a second thread would not have. The main thread sends bytes and gets verdicts;
 * a transition (an epoch's at its first slot, a state root's hashing) never blocks its event loop.
 */
export class StateTransitionPool {
  private readonly piscina: Piscina;

  constructor() {
    this.piscina = new Piscina({
      filename: new URL("./stateTransitionWorker.js", import.meta.url).href,
      minThreads: 1,
      maxThreads: 1,
      // The thread holds the kept states: letting it idle out would throw them away and force a re-bootstrap.
      idleTimeout: Number.POSITIVE_INFINITY,
      ...WORKER_EVENT_LOOP,
    });
  }

  /** The anchor state moves to the thread without a copy when it owns its buffer (a mainnet state is ~250 MB). */
  bootstrap(chain: ChainDescription, state: Uint8Array): Promise<AnchorInfo> {
    const owned = state.byteOffset === 0 && state.byteLength === state.buffer.byteLength;
    const task: StateTransitionTask = {kind: "bootstrap", chain, state};
    return this.piscina.run(task, owned ? {transferList: [state.buffer as ArrayBuffer]} : {}) as Promise<AnchorInfo>;
  }

  verify(block: Uint8Array): Promise<VerifyOutcome> {
    return this.piscina.run({kind: "verify", block} satisfies StateTransitionTask) as Promise<VerifyOutcome>;
  }

  checkpoints(root: string, slot: number): Promise<AttestationCheckpoints | null> {
    const task: StateTransitionTask = {kind: "checkpoints", root, slot};
    return this.piscina.run(task) as Promise<AttestationCheckpoints | null>;
  }

  async close(): Promise<void> {
    await this.piscina.close();
  }
}
