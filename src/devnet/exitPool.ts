import {ForkSeq, MAX_VOLUNTARY_EXITS} from "@lodestar/params";
import {
  type CachedBeaconStateAllForks,
  VoluntaryExitValidity,
  getVoluntaryExitValidity,
} from "@lodestar/state-transition";
import type {phase0} from "@lodestar/types";
import {reject} from "./errors.js";

/**
 * Signed voluntary exits waiting for a block, as a beacon node's op pool holds them: each checked on arrival
 * against the head state (signature included) and refused with the spec's reason, one per validator, packed
 * into blocks while still valid on the state the block is built on.
 */
export class ExitPool {
  private readonly byValidator = new Map<number, phase0.SignedVoluntaryExit>();

  add(state: CachedBeaconStateAllForks, exit: phase0.SignedVoluntaryExit): void {
    const index = exit.message.validatorIndex;
    if (this.byValidator.has(index)) return;
    const validity = getVoluntaryExitValidity(ForkSeq.electra, state, exit, true);
    if (validity !== VoluntaryExitValidity.valid)
      reject(`voluntary exit of validator ${index} at epoch ${exit.message.epoch} is not valid: ${validity}`);
    this.byValidator.set(index, exit);
  }

  /** Up to a block's worth of exits still valid on `state` (signatures were checked on arrival). */
  pack(state: CachedBeaconStateAllForks): phase0.SignedVoluntaryExit[] {
    const out: phase0.SignedVoluntaryExit[] = [];
    for (const [index, exit] of this.byValidator) {
      const validity = getVoluntaryExitValidity(ForkSeq.electra, state, exit, false);
      // Already exiting on this chain: its exit is done; anything else (an epoch still ahead) may be valid later.
      if (validity === VoluntaryExitValidity.alreadyExited) this.byValidator.delete(index);
      else if (validity === VoluntaryExitValidity.valid) out.push(exit);
      if (out.length >= MAX_VOLUNTARY_EXITS) break;
    }
    return out;
  }

  all(): phase0.SignedVoluntaryExit[] {
    return [...this.byValidator.values()];
  }
}
