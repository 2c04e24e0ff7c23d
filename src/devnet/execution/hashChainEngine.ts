import {createHash} from "node:crypto";
import {ssz, type electra} from "@lodestar/types";
import type {ExecutionEngine, ExecutionGenesis, PayloadAttributes} from "./types.js";

/** Mainnet's genesis-era gas limit; the devnet only needs it constant and large enough for its transactions. */
const GAS_LIMIT = 30_000_000;
/** 1 gwei: EIP-1559's floor in practice, so fees are visible but tiny. */
const BASE_FEE = 1_000_000_000n;

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * A minimal execution layer with no EVM: empty blocks whose hash commits to parent, number, timestamp, randao and
 * withdrawals. Internally consistent (every hash re-derives) and enough for the consensus state transition, which
 * only checks parent hash, prev_randao and timestamp. Used by benchmarks to separate consensus from EVM cost and
 * as `--execution none`.
 */
export class HashChainEngine implements ExecutionEngine {
  private readonly numbers = new Map<string, number>();
  private readonly genesisBlock: ExecutionGenesis;

  constructor(genesisTime: number) {
    const blockHash = sha256(new TextEncoder().encode("r3dv devnet execution genesis"));
    this.genesisBlock = {
      parentHash: new Uint8Array(32),
      blockHash,
      stateRoot: sha256(blockHash, new Uint8Array([1])),
      receiptsRoot: new Uint8Array(32),
      prevRandao: new Uint8Array(32),
      timestamp: genesisTime,
      gasLimit: GAS_LIMIT,
      baseFeePerGas: BASE_FEE,
    };
    this.numbers.set(Buffer.from(blockHash).toString("hex"), 0);
  }

  genesis(): ExecutionGenesis {
    return this.genesisBlock;
  }

  private hashOf(p: electra.ExecutionPayload): Uint8Array {
    return sha256(ssz.electra.ExecutionPayload.hashTreeRoot({...p, blockHash: new Uint8Array(32)}));
  }

  async buildPayload(a: PayloadAttributes): Promise<electra.ExecutionPayload> {
    const parentNumber = this.numbers.get(Buffer.from(a.parentHash).toString("hex"));
    if (parentNumber === undefined) throw new Error(`unknown execution parent ${Buffer.from(a.parentHash).toString("hex")}`);
    const payload: electra.ExecutionPayload = {
      ...ssz.electra.ExecutionPayload.defaultValue(),
      parentHash: a.parentHash,
      feeRecipient: a.feeRecipient,
      stateRoot: this.genesisBlock.stateRoot,
      prevRandao: a.prevRandao,
      blockNumber: parentNumber + 1,
      gasLimit: GAS_LIMIT,
      timestamp: a.timestamp,
      baseFeePerGas: BASE_FEE,
      withdrawals: a.withdrawals,
    };
    payload.blockHash = this.hashOf(payload);
    this.numbers.set(Buffer.from(payload.blockHash).toString("hex"), payload.blockNumber);
    return payload;
  }

  async newPayload(p: electra.ExecutionPayload): Promise<{valid: boolean; reason?: string}> {
    const parentNumber = this.numbers.get(Buffer.from(p.parentHash).toString("hex"));
    if (parentNumber === undefined) return {valid: false, reason: "unknown execution parent"};
    if (p.blockNumber !== parentNumber + 1) return {valid: false, reason: `block number ${p.blockNumber}, expected ${parentNumber + 1}`};
    if (Buffer.compare(this.hashOf(p), p.blockHash) !== 0) return {valid: false, reason: "block hash does not match the payload"};
    this.numbers.set(Buffer.from(p.blockHash).toString("hex"), p.blockNumber);
    return {valid: true};
  }
}
