import type {Devnet} from "../devnet.js";
import {resolveState} from "./resolve.js";

/**
 * The debug namespace's state download, which a client bootstraps a state of its own from (r3dv's EVM role does,
 * from the finalized state). The state goes out as its SSZ bytes whatever the wire format: Lodestar's route
 * sends them as they are for SSZ and decodes them for JSON.
 */
export function debugMethods(devnet: Devnet) {
  const chain = devnet.chain;
  return {
    getStateV2: async ({stateId}: {stateId: string | number}) => {
      const {state, finalized} = resolveState(chain, stateId);
      return {
        data: state.serialize(),
        meta: {version: chain.config.getForkName(state.slot), executionOptimistic: false, finalized},
      };
    },
  };
}
