import type {Block} from "@ethereumjs/block";
import type {MerkleStateManager} from "@ethereumjs/statemanager";
import {getMerkleStateProof} from "@ethereumjs/statemanager";
import {Address, bytesToHex, hexToBytes, setLengthLeft} from "@ethereumjs/util";
import {errorMessage} from "../../util/errors.js";

/** What the JSON-RPC reads of the devnet's execution layer (evmEngine.ts gives it). */
export interface ExecutionRpcEngine {
  readonly chainId: number;
  /** The engine's block for a 0x hash, if it has it. */
  block(hash: Uint8Array): Block | undefined;
  /** A state manager of its own on the post-state of block `hash` (the real one for a fault-injected block). */
  stateAt(hash: Uint8Array): Promise<MerkleStateManager | undefined>;
  /** The accounts and slots block `hash` touches (0x hex): debug_executionWitness's keys. */
  accessedKeys(hash: Uint8Array): Promise<string[] | undefined>;
}

interface RpcRequest {
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

type RpcAnswer = {jsonrpc: "2.0"; id: unknown; result: unknown} | {jsonrpc: "2.0"; id: unknown; error: RpcErrorBody};
interface RpcErrorBody {
  code: number;
  message: string;
}

/** JSON-RPC's own error codes (https://www.jsonrpc.org/specification), and -32000 for "no such block". */
const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;
const NOT_FOUND = -32000;

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const quantity = (n: number | bigint): string => `0x${n.toString(16)}`;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const WORD = /^0x[0-9a-fA-F]{1,64}$/;

/**
 * The execution layer's JSON-RPC, as much as a verifier of the chain needs (issue 11): `eth_getProof`,
 * `eth_getCode` and `eth_getStorageAt` for a block's pre-state, `debug_executionWitness` for the keys a block
 * touches (its `keys` only: the state's nodes are proven through eth_getProof), blocks by number and hash, `eth_getBalance`,
 * `eth_chainId`, `eth_blockNumber`. Block ids: `latest` (the head's payload), `earliest`, a 0x number on the
 * canonical chain, or an EIP-1898 object `{blockHash}`. Answers follow execution-apis: quantities as 0x hex.
 * `head` gives the execution block hash of the beacon head's payload.
 */
export class ExecutionRpc {
  constructor(
    private readonly engine: ExecutionRpcEngine,
    private readonly head: () => Uint8Array,
  ) {}

  async answer(req: RpcRequest): Promise<RpcAnswer> {
    const id = req.id ?? null;
    try {
      if (typeof req.method !== "string") throw new RpcError(INVALID_REQUEST, "method must be a string");
      const params = req.params === undefined ? [] : req.params;
      if (!Array.isArray(params)) throw new RpcError(INVALID_PARAMS, "params must be an array");
      return {jsonrpc: "2.0", id, result: await this.call(req.method, params)};
    } catch (e) {
      const code = e instanceof RpcError ? e.code : NOT_FOUND;
      return {jsonrpc: "2.0", id, error: {code, message: errorMessage(e)}};
    }
  }

  private async call(method: string, p: unknown[]): Promise<unknown> {
    switch (method) {
      case "eth_chainId":
        return quantity(this.engine.chainId);
      case "eth_blockNumber":
        return quantity(this.blockAt("latest").header.number);
      case "eth_getBlockByNumber":
      case "eth_getBlockByHash": {
        const block = method === "eth_getBlockByHash" ? this.blockAt({blockHash: p[0]}) : this.blockAt(p[0]);
        return rpcBlock(block);
      }
      case "eth_getBalance":
        return quantity((await (await this.state(p[1])).getAccount(address(p[0])))?.balance ?? 0n);
      case "eth_getCode":
        return bytesToHex(await (await this.state(p[1])).getCode(address(p[0])));
      case "eth_getStorageAt": {
        const value = await (await this.state(p[2])).getStorage(address(p[0]), slot(p[1]));
        return bytesToHex(setLengthLeft(value, 32));
      }
      case "eth_getProof": {
        if (!Array.isArray(p[1])) throw new RpcError(INVALID_PARAMS, "storage keys must be an array");
        return getMerkleStateProof(await this.state(p[2]), address(p[0]), p[1].map(slot));
      }
      case "debug_executionWitness": {
        // Geth's and reth's witness of one block; only its keys here: a verifier proves every value itself.
        const id = typeof p[0] === "string" && p[0].length === 66 ? {blockHash: p[0]} : p[0];
        const keys = await this.engine.accessedKeys(this.blockAt(id).hash());
        if (!keys) throw new RpcError(NOT_FOUND, "the block's parent is not known to the execution layer");
        return {keys};
      }
      default:
        throw new RpcError(METHOD_NOT_FOUND, `method ${method} is not served by the devnet`);
    }
  }

  private async state(id: unknown): Promise<MerkleStateManager> {
    const block = this.blockAt(id);
    const sm = await this.engine.stateAt(block.hash());
    if (!sm) throw new RpcError(NOT_FOUND, `no state kept for block ${bytesToHex(block.hash())}`);
    return sm;
  }

  /** The block a block id names, or a NOT_FOUND error that says which. */
  private blockAt(id: unknown): Block {
    if (typeof id === "object" && id !== null && "blockHash" in id) {
      const hash = (id as {blockHash: unknown}).blockHash;
      if (typeof hash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(hash))
        throw new RpcError(INVALID_PARAMS, `blockHash must be 32 bytes of 0x hex, got ${JSON.stringify(hash)}`);
      const b = this.engine.block(hexToBytes(hash as `0x${string}`));
      if (!b) throw new RpcError(NOT_FOUND, `unknown block ${hash}`);
      return b;
    }
    const head = this.engine.block(this.head());
    if (!head) throw new RpcError(NOT_FOUND, "the head's payload is not known to the execution layer");
    if (id === undefined || id === "latest" || id === "safe" || id === "finalized" || id === "pending") return head;
    const number = id === "earliest" ? 0n : typeof id === "string" && /^0x[0-9a-fA-F]+$/.test(id) ? BigInt(id) : null;
    if (number === null) throw new RpcError(INVALID_PARAMS, `not a block id: ${JSON.stringify(id)}`);
    // Walks back from the head: the devnet's chain is short, and by number means on the canonical chain.
    let b: Block | undefined = head;
    while (b && b.header.number > number) b = this.engine.block(b.header.parentHash);
    if (!b || b.header.number !== number) throw new RpcError(NOT_FOUND, `no canonical block ${quantity(number)}`);
    return b;
  }
}

function address(v: unknown): Address {
  if (typeof v !== "string" || !ADDRESS.test(v))
    throw new RpcError(INVALID_PARAMS, `not a 20-byte 0x address: ${JSON.stringify(v)}`);
  return new Address(hexToBytes(v as `0x${string}`));
}

function slot(v: unknown): Uint8Array {
  if (typeof v !== "string" || !WORD.test(v))
    throw new RpcError(INVALID_PARAMS, `not a storage key (0x hex, at most 32 bytes): ${JSON.stringify(v)}`);
  const hex = v.length % 2 === 0 ? v : `0x0${v.slice(2)}`;
  return setLengthLeft(hexToBytes(hex as `0x${string}`), 32);
}

/** A block as execution-apis' `eth_getBlockBy*` with transaction hashes (not full transactions). */
function rpcBlock(b: Block): Record<string, unknown> {
  const h = b.header.toJSON();
  return {
    number: h.number,
    hash: bytesToHex(b.hash()),
    parentHash: h.parentHash,
    sha3Uncles: h.uncleHash,
    miner: h.coinbase,
    stateRoot: h.stateRoot,
    transactionsRoot: h.transactionsTrie,
    receiptsRoot: h.receiptTrie,
    logsBloom: h.logsBloom,
    difficulty: h.difficulty,
    gasLimit: h.gasLimit,
    gasUsed: h.gasUsed,
    timestamp: h.timestamp,
    extraData: h.extraData,
    mixHash: h.mixHash,
    nonce: h.nonce,
    baseFeePerGas: h.baseFeePerGas,
    withdrawalsRoot: h.withdrawalsRoot,
    blobGasUsed: h.blobGasUsed,
    excessBlobGas: h.excessBlobGas,
    parentBeaconBlockRoot: h.parentBeaconBlockRoot,
    requestsHash: h.requestsHash,
    size: quantity(b.serialize().length),
    transactions: b.transactions.map((tx) => bytesToHex(tx.hash())),
    withdrawals: (b.withdrawals ?? []).map((w) => {
      const j = w.toJSON();
      return {index: j.index, validatorIndex: j.validatorIndex, address: j.address, amount: j.amount};
    }),
    uncles: [],
  };
}
