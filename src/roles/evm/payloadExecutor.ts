import {createHash} from "node:crypto";
import {type Block, type ExecutionPayload, createBlockFromExecutionPayload} from "@ethereumjs/block";
import {type Common, Hardfork, Mainnet, createCustomCommon} from "@ethereumjs/common";
import {type MerkleStateManager, RPCStateManager, fromMerkleStateProof} from "@ethereumjs/statemanager";
import {Address, KECCAK256_NULL_S, bytesToHex, fetchFromProvider, hexToBytes} from "@ethereumjs/util";
import {createVM, runBlock} from "@ethereumjs/vm";
import type {Proof} from "@ethereumjs/common";
import {errorMessage} from "../../util/errors.js";
import {type RpcCall, jsonRpcBatch} from "./jsonRpcBatch.js";
import {recordStateAccess} from "../../util/stateAccessRecorder.js";

/** What the state transition thread hands over for a consensus-valid block that carries a payload. */
export interface ExecutionInput {
  /** The payload as the Engine API's JSON (what ethereumjs builds a block from), with the beacon-side fields. */
  payload: ExecutionPayload;
  /** The parent payload's state root as the parent beacon state records it: what the witness must prove. */
  parentStateRoot: string;
  /** The consensus fork of the block's slot, which fixes the execution hardfork. */
  fork: string;
  chainId: number;
}

/** Why a payload could not be executed here (its block is then `unavailable` with this reason). */
export type ExecutionUnverifiedReason =
  /** The execution endpoint did not answer (down, too slow, an error for a block it should know). */
  | "execution_unavailable"
  /** Its answers do not prove the parent's state: proofs that hash to another root, code under a wrong hash. */
  | "bad_witness";

export type ExecutionOutcome =
  | {status: "valid"; ms: number; accounts: number; slots: number}
  | {status: "invalid"; detail: string}
  | {status: "unverified"; reason: ExecutionUnverifiedReason; detail: string};

/** Consensus forks and the execution hardfork each runs with (ethereumjs' names). */
const HARDFORKS: Record<string, Hardfork> = {
  bellatrix: Hardfork.Paris,
  capella: Hardfork.Shanghai,
  deneb: Hardfork.Cancun,
  electra: Hardfork.Prague,
  fulu: Hardfork.Osaka,
};

class WitnessError extends Error {
  constructor(
    readonly reason: ExecutionUnverifiedReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Re-executes a payload statelessly, trusting nothing the execution endpoint says (issue 11, step 2b):
 * 1. the block is rebuilt from the payload, which must hash to its block hash;
 * 2. the endpoint's execution witness names the accounts and storage slots the block touches (or, from an
 *    endpoint without one, a first run on state read through it: touchedState);
 * 3. their EIP-1186 proofs at the parent (one JSON-RPC batch) build a partial Merkle state, which must hash to the
 *    parent's state root as consensus recorded it, and each contract's code must hash to its account's code hash;
 * 4. the block runs again on that state: the post-state root, receipts root, logs bloom and gas used must equal
 *    the payload's (ethereumjs' runBlock checks each).
 * A lying endpoint can make the block unverifiable here, never valid: every value the second run reads is
 * proven against a root this node derived itself.
 */
export async function executePayload(
  rpcUrl: string,
  input: ExecutionInput,
  timeoutMs: number,
): Promise<ExecutionOutcome> {
  const t0 = performance.now();
  const hardfork = HARDFORKS[input.fork];
  if (!hardfork) return {status: "invalid", detail: `fork ${input.fork} carries no payload this node executes`};
  const common = createCustomCommon({chainId: input.chainId}, Mainnet, {hardfork});
  let block: Block;
  try {
    block = await createBlockFromExecutionPayload(input.payload, {common});
  } catch (e) {
    return {status: "invalid", detail: `the payload does not make a block with its block hash: ${errorMessage(e)}`};
  }
  // One budget for every call to the endpoint: each gets what the ones before it left.
  const end = performance.now() + timeoutMs;
  const left = (): number => {
    // Whole milliseconds: timers and AbortSignal.timeout take integers only.
    const ms = Math.ceil(end - performance.now());
    if (ms <= 0) throw new WitnessError("execution_unavailable", `no answer within ${timeoutMs} ms`);
    return ms;
  };
  try {
    const touched = await touchedState(rpcUrl, block, common, left);
    const state = await provenState(rpcUrl, input, touched, common, left);
    const vm = await createVM({common, stateManager: state});
    try {
      await runBlock(vm, {
        block,
        root: hexToBytes(input.parentStateRoot as `0x${string}`),
        // The header's link to its parent is consensus' to check (the beacon state holds the parent payload).
        skipHeaderValidation: true,
        skipBlockValidation: true,
      });
    } catch (e) {
      const message = errorMessage(e);
      // A node the proofs did not hold: the block touched state its first run did not (or a proof was cut).
      if (/missing node|not found in db/i.test(message))
        throw new WitnessError("bad_witness", `the proofs miss state the block needs: ${message}`);
      return {status: "invalid", detail: `re-execution disagrees with the payload: ${message}`};
    }
    const slots = [...touched.values()].reduce((a, s) => a + s.size, 0);
    return {status: "valid", ms: performance.now() - t0, accounts: touched.size, slots};
  } catch (e) {
    if (e instanceof WitnessError) return {status: "unverified", reason: e.reason, detail: e.message};
    return {status: "unverified", reason: "execution_unavailable", detail: errorMessage(e)};
  }
}

/**
 * The accounts (0x, lowercase) and storage slots the block touches. From the endpoint's execution witness when it
 * serves one (`debug_executionWitness`, as geth and reth do: its `keys`, one flat list of addresses and slots, so
 * every slot is asked of every account), else from a first run on state read through the endpoint
 * (RPCStateManager), whose own verdict is meaningless: only what it read and wrote is kept. Either way the keys
 * are only a guess at what to prove: keys left out make the proven run fail, never pass.
 */
async function touchedState(
  rpcUrl: string,
  block: Block,
  common: Common,
  left: () => number,
): Promise<Map<string, Set<string>>> {
  const witness = await fetchFromProvider(
    rpcUrl,
    {method: "debug_executionWitness", params: [bytesToHex(block.hash())]},
    {timeout: left()},
  ).catch((e: unknown) => e);
  const keys = (witness as {keys?: unknown} | null)?.keys;
  if (Array.isArray(keys) && keys.every((k) => typeof k === "string")) {
    const slots = new Set(keys.filter((k) => /^0x[0-9a-fA-F]{64}$/.test(k)).map((k) => k.toLowerCase()));
    const accounts = keys.filter((k) => /^0x[0-9a-fA-F]{40}$/.test(k)).map((k) => k.toLowerCase());
    return new Map(accounts.map((a) => [a, slots]));
  }
  const rpc = new RPCStateManager({provider: rpcUrl, blockTag: block.header.number - 1n, common});
  const {manager, record} = recordStateAccess(rpc);
  const vm = await createVM({common, stateManager: manager});
  const run = runBlock(vm, {block, skipHeaderValidation: true, skipBlockValidation: true}).catch(() => undefined);
  await withTimeout(run, left());
  if (record.failure !== undefined)
    throw new WitnessError("execution_unavailable", `reading the parent state: ${errorMessage(record.failure)}`);
  return record.touched;
}

/** A partial state of the parent from the endpoint's proofs, checked against the parent's state root. */
async function provenState(
  rpcUrl: string,
  input: ExecutionInput,
  touched: Map<string, Set<string>>,
  common: Common,
  left: () => number,
): Promise<MerkleStateManager> {
  // EIP-1898: state named by block hash, so a reorg between the calls cannot mix two states.
  const at = {blockHash: input.payload.parentHash};
  const batch = (calls: RpcCall[]) =>
    jsonRpcBatch(rpcUrl, calls, left()).catch((e: unknown) => {
      throw new WitnessError("execution_unavailable", errorMessage(e));
    });
  const proofs = (await batch(
    [...touched].map(([address, slots]) => ({method: "eth_getProof", params: [address, [...slots], at]})),
  )) as Proof[];
  let state: MerkleStateManager;
  try {
    state = await fromMerkleStateProof(proofs, true, {common});
  } catch (e) {
    throw new WitnessError("bad_witness", `the proofs do not verify: ${errorMessage(e)}`);
  }
  const proven = async (what: string): Promise<void> => {
    const root = bytesToHex(await state.getStateRoot());
    if (root !== input.parentStateRoot.toLowerCase())
      throw new WitnessError(
        "bad_witness",
        `${what}: state root ${root}, the parent payload's is ${input.parentStateRoot}`,
      );
  };
  await proven("the proofs");
  const contracts = proofs.filter((p) => p.codeHash.toLowerCase() !== KECCAK256_NULL_S);
  const codes = await batch(contracts.map((p) => ({method: "eth_getCode", params: [p.address, at]})));
  for (const [i, p] of contracts.entries()) {
    // Storing code sets the account's code hash to the code's own: code other than the account's changes the root.
    await state.putCode(new Address(hexToBytes(p.address)), hexToBytes(codes[i] as `0x${string}`));
    await proven(`the code served for ${p.address} is not the code its account commits to`);
  }
  return state;
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WitnessError("execution_unavailable", `no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** EIP-7685's requests hash over the block's execution requests (each type's bytes, empty types left out). */
export function requestsHash(requests: {type: number; data: Uint8Array}[]): string {
  const outer = createHash("sha256");
  for (const r of requests)
    if (r.data.length > 0)
      outer.update(
        createHash("sha256")
          .update(Buffer.from([r.type]))
          .update(r.data)
          .digest(),
      );
  return `0x${outer.digest("hex")}`;
}
