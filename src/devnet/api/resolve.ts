import {FAR_FUTURE_EPOCH} from "@lodestar/params";
import {computeEpochAtSlot, type CachedBeaconStateAllForks} from "@lodestar/state-transition";
import type {phase0} from "@lodestar/types";
import {bytesEqual, toHex} from "../../hotpath/bytes.js";
import type {BlockEntry} from "../blockStore.js";
import type {DevChain} from "../chain.js";
import {notFound, reject} from "../errors.js";

const ROOT_RE = /^0x[0-9a-fA-F]{64}$/;

/** A block id as the Beacon API defines it: head, genesis, finalized, justified, a slot or a 0x root. */
export function resolveBlock(chain: DevChain, id: string | number): BlockEntry {
  const head = chain.head();
  const state = chain.headState();
  if (id === "head") return head;
  if (id === "genesis") return chain.genesisBlock;
  if (id === "finalized" || id === "justified") {
    const cp = id === "finalized" ? state.finalizedCheckpoint : state.currentJustifiedCheckpoint;
    return cp.epoch === 0 ? chain.genesisBlock : (chain.blocks.getByRoot(cp.root) ?? notFound(`${id} block`));
  }
  if (typeof id === "string" && ROOT_RE.test(id)) return chain.blocks.get(id.toLowerCase()) ?? notFound(`block ${id}`);
  const slot = Number(id);
  if (!Number.isSafeInteger(slot) || slot < 0)
    reject(
      `invalid block id ${JSON.stringify(id)}: use head, genesis, finalized, justified, a slot or a 0x-prefixed root`,
    );
  const e = chain.blocks.atOrBefore(head, slot);
  if (!e || e.slot !== slot) notFound(`block at slot ${slot}`);
  return e;
}

/** A state id: the post-state of a block id, or of the canonical chain advanced to a slot; a 0x state root. */
export function resolveState(
  chain: DevChain,
  id: string | number,
): {state: CachedBeaconStateAllForks; finalized: boolean} {
  const fin = chain.headState().finalizedCheckpoint.epoch;
  if (typeof id === "string" && ROOT_RE.test(id)) {
    for (const e of chain.blocks.all()) {
      if (toHex(e.stateRoot) === id.toLowerCase() && e.postState)
        return {state: e.postState, finalized: computeEpochAtSlot(e.slot) < fin};
    }
    notFound(`state ${id}`);
  }
  if (typeof id === "number" || /^\d+$/.test(id)) {
    const slot = Number(id);
    const e = chain.blocks.atOrBefore(chain.head(), slot) ?? notFound(`state at slot ${slot}`);
    if (!e.postState) notFound(`state at slot ${slot} (no longer kept)`);
    const state = slot > chain.currentSlot() ? notFound(`state at future slot ${slot}`) : chain.stateAt(e, slot);
    return {state, finalized: computeEpochAtSlot(slot) < fin};
  }
  const e = resolveBlock(chain, id);
  if (!e.postState) notFound(`state of block ${e.rootHex} (no longer kept)`);
  return {state: e.postState, finalized: id === "finalized" || id === "genesis"};
}

/** The validator status names of the Beacon API, from the validator record at `epoch`. */
export function validatorStatus(v: phase0.Validator, balance: number, epoch: number): string {
  if (v.activationEpoch > epoch)
    return v.activationEligibilityEpoch === FAR_FUTURE_EPOCH ? "pending_initialized" : "pending_queued";
  if (v.exitEpoch > epoch)
    return v.exitEpoch === FAR_FUTURE_EPOCH ? "active_ongoing" : v.slashed ? "active_slashed" : "active_exiting";
  if (v.withdrawableEpoch > epoch) return v.slashed ? "exited_slashed" : "exited_unslashed";
  return balance > 0 ? "withdrawal_possible" : "withdrawal_done";
}

/** Validator ids are indices or 0x pubkeys; unknown ones are skipped, as beacon nodes do. */
export function resolveValidatorIds(state: CachedBeaconStateAllForks, ids: (string | number)[] | undefined): number[] {
  const count = state.validators.length;
  if (!ids || ids.length === 0) return Array.from({length: count}, (_, i) => i);
  const out: number[] = [];
  for (const id of ids) {
    if (typeof id === "string" && id.startsWith("0x")) {
      const idx = state.epochCtx.getValidatorIndex(Buffer.from(id.slice(2), "hex"));
      if (idx !== null && idx < count) out.push(idx);
    } else {
      const idx = Number(id);
      if (!Number.isSafeInteger(idx) || idx < 0)
        reject(`invalid validator id ${JSON.stringify(id)}: use an index or a 0x-prefixed public key`);
      if (idx < count) out.push(idx);
    }
  }
  return out;
}

export function isCanonical(chain: DevChain, e: BlockEntry): boolean {
  const c = chain.blocks.atOrBefore(chain.head(), e.slot);
  return c !== undefined && bytesEqual(c.root, e.root);
}
