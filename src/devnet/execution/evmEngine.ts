import {createBlock, createBlockFromExecutionPayload, genTransactionsTrieRoot, type Block} from "@ethereumjs/block";
import {Hardfork, Mainnet, createCustomCommon, type Common} from "@ethereumjs/common";
import {MerkleStateManager} from "@ethereumjs/statemanager";
import type {ExecutionRpcEngine} from "../api/executionRpc.js";
import {createAccount, bytesToHex, hexToBytes, type PrefixedHexString} from "@ethereumjs/util";
import {buildBlock, createVM, runBlock, type VM} from "@ethereumjs/vm";
import type {electra} from "@lodestar/types";
import {errorMessage} from "../../util/errors.js";
import {type AccessRecord, recordStateAccess} from "../../util/stateAccessRecorder.js";
import {
  BUILDER_ADDRESS,
  TxStream,
  accountAddress,
  builderPayment,
  unfundedTransfer,
  COUNTER_ADDRESS,
  COUNTER_CODE,
  PREFUNDED_ACCOUNTS,
  PREFUND_WEI,
} from "./txStream.js";
import type {ExecutionEngine, ExecutionGenesis, PayloadAttributes} from "./types.js";

/** Chain id of the devnet's execution layer; also the beacon config's DEPOSIT_CHAIN_ID. */
export const DEVNET_CHAIN_ID = 1337;
/** Mainnet's gas limit at the Pectra fork era; the devnet's few transactions per block use a tiny part of it. */
const GAS_LIMIT = 36_000_000n;
/** Blocks whose witness keys are kept: nodes ask within a slot or two of a block, and a restarted one within 10. */
const KEYS_KEPT = 64;
/** States kept for the JSON-RPC: the parents of the last few blocks, which verifiers ask about. */
const STATES_KEPT = 8;
/** 1 gwei genesis base fee: EIP-1559 then moves it block by block from real gas use. */
const GENESIS_BASE_FEE = 1_000_000_000n;

function hex(b: Uint8Array): PrefixedHexString {
  return bytesToHex(b);
}

/**
 * The devnet's execution layer: an @ethereumjs/vm chain at the Prague hardfork (the EL side of Electra).
 * `buildPayload` executes a deterministic stream of signed transactions (transfers between prefunded accounts and
 * calls to a counter contract in the genesis state) and withdrawals on top of the parent block's state; the payload
 * carries the real state root, receipts root, logs bloom, gas used, base fee and block hash. `newPayload` rebuilds
 * the block from the payload, checks its hash and re-executes it on the parent state (as engine_newPayload does).
 */
/** A fault-injected block's changes: header fields, its transactions, and witness keys they add. */
interface Forgery {
  header: Record<string, Uint8Array>;
  transactions?: Block["transactions"][number][];
  keys?: string[];
}

export class EvmEngine implements ExecutionEngine, ExecutionRpcEngine {
  readonly chainId = DEVNET_CHAIN_ID;
  private readonly blocks = new Map<string, Block>();
  /** Fault-injected blocks claim a wrong state root; their children execute on the real one they hide. */
  private readonly realStateRoots = new Map<string, Uint8Array>();
  private readonly stream = new TxStream();
  /** State managers the JSON-RPC reads, per block hash, newest last: each node asks a dozen proofs of one state. */
  private readonly states = new Map<string, MerkleStateManager>();
  /** Execution witness keys per block hash, newest last (accessedKeys). */
  private readonly keys = new Map<string, string[]>();
  private genesisBlock!: Block;

  private constructor(
    private readonly common: Common,
    private readonly vm: VM,
  ) {}

  static async create(genesisTime: number): Promise<EvmEngine> {
    const common = createCustomCommon({chainId: DEVNET_CHAIN_ID, name: "r3dv-devnet"}, Mainnet, {
      hardfork: Hardfork.Prague,
    });
    const stateManager = new MerkleStateManager({common});
    const vm = await createVM({common, stateManager});
    const engine = new EvmEngine(common, vm);
    await engine.initGenesis(genesisTime);
    return engine;
  }

  private async initGenesis(genesisTime: number): Promise<void> {
    const sm = this.vm.stateManager;
    await sm.checkpoint();
    for (let i = 0; i < PREFUNDED_ACCOUNTS; i++)
      await sm.putAccount(accountAddress(i), createAccount({balance: PREFUND_WEI}));
    await sm.putAccount(BUILDER_ADDRESS, createAccount({balance: PREFUND_WEI}));
    await sm.putAccount(COUNTER_ADDRESS, createAccount({}));
    await sm.putCode(COUNTER_ADDRESS, COUNTER_CODE);
    await sm.commit();
    const stateRoot = await sm.getStateRoot();
    this.genesisBlock = createBlock(
      {
        header: {
          number: 0n,
          stateRoot,
          gasLimit: GAS_LIMIT,
          baseFeePerGas: GENESIS_BASE_FEE,
          timestamp: BigInt(genesisTime),
          excessBlobGas: 0n,
          blobGasUsed: 0n,
          parentBeaconBlockRoot: new Uint8Array(32),
          requestsHash: hexToBytes("0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        },
        withdrawals: [],
      },
      {common: this.common},
    );
    this.blocks.set(hex(this.genesisBlock.hash()), this.genesisBlock);
  }

  private stateRootOf(block: Block): Uint8Array {
    return this.realStateRoots.get(hex(block.hash())) ?? block.header.stateRoot;
  }

  genesis(): ExecutionGenesis {
    const h = this.genesisBlock.header;
    return {
      parentHash: h.parentHash,
      blockHash: this.genesisBlock.hash(),
      stateRoot: h.stateRoot,
      receiptsRoot: h.receiptTrie,
      prevRandao: h.mixHash,
      timestamp: Number(h.timestamp),
      gasLimit: Number(h.gasLimit),
      baseFeePerGas: h.baseFeePerGas as bigint,
    };
  }

  async buildPayload(a: PayloadAttributes): Promise<electra.ExecutionPayload> {
    const parent = this.blocks.get(hex(a.parentHash));
    if (!parent) throw new Error(`unknown execution parent ${hex(a.parentHash)}`);
    const copy = await this.vm.shallowCopy();
    await copy.stateManager.setStateRoot(this.stateRootOf(parent));
    // Built on a recording state: the block's witness keys are known before any verifier asks (accessedKeys).
    const {manager, record} = recordStateAccess(copy.stateManager);
    const vm = await createVM({common: this.common, stateManager: manager});
    const builder = await buildBlock(vm, {
      parentBlock: parent,
      headerData: {
        number: parent.header.number + 1n,
        timestamp: BigInt(a.timestamp),
        coinbase: a.feeRecipient,
        gasLimit: GAS_LIMIT,
        mixHash: a.prevRandao,
        parentBeaconBlockRoot: a.parentBeaconBlockRoot,
        baseFeePerGas: parent.header.calcNextBaseFee(),
      },
      withdrawals: a.withdrawals.map((w) => ({
        index: BigInt(w.index),
        validatorIndex: BigInt(w.validatorIndex),
        address: w.address,
        amount: w.amount,
      })),
      blockOpts: {putBlockIntoBlockchain: false},
    });
    for (const tx of await this.stream.next(
      vm,
      parent.header.number + 1n,
      parent.header.calcNextBaseFee(),
      this.common,
    )) {
      await builder.addTransaction(tx);
    }
    if (a.payment)
      await builder.addTransaction(
        await builderPayment(vm, a.payment.to, a.payment.value, parent.header.calcNextBaseFee(), this.common),
      );
    const {block} = await builder.build();
    this.blocks.set(hex(block.hash()), block);
    this.keepKeys(hex(block.hash()), keysOf(record));
    return toSszPayload(block);
  }

  /**
   * Fault injection: `payload` with a wrong state root and a block hash recomputed over it, so only re-execution
   * (not hashing) can tell. This engine records it as valid so the consensus side imports it, as a lying EL would.
   */
  async corruptStateRoot(p: electra.ExecutionPayload): Promise<electra.ExecutionPayload> {
    return this.forge(p, "corruptStateRoot", () => ({header: {stateRoot: new Uint8Array(32).fill(0xbd)}}));
  }

  /**
   * Fault injection: `payload` with one more transaction, a transfer from an account that holds nothing (so it
   * cannot pay its gas), its transactions root and block hash recomputed: every hash checks out and the state root
   * is the real one, but the block cannot be executed. Recorded as valid, as an EL that skipped the check would.
   */
  async addFailingTransaction(p: electra.ExecutionPayload): Promise<electra.ExecutionPayload> {
    const failing = await unfundedTransfer(this.common);
    return this.forge(p, "addFailingTransaction", async (orig) => {
      const transactions = [...orig.transactions, failing];
      return {
        header: {transactionsTrie: await genTransactionsTrieRoot(transactions)},
        transactions,
        keys: [failing.getSenderAddress().toString(), failing.to?.toString() ?? ""],
      };
    });
  }

  /**
   * A block built here, changed by `change` (header fields, transactions, witness keys added), rehashed and kept
   * as valid; its children execute on the state the original block really left.
   */
  private async forge(
    p: electra.ExecutionPayload,
    what: string,
    change: (orig: Block) => Forgery | Promise<Forgery>,
  ): Promise<electra.ExecutionPayload> {
    const orig = this.blocks.get(hex(p.blockHash));
    if (!orig) throw new Error(`${what}: payload ${hex(p.blockHash)} was not built here`);
    const c = await change(orig);
    const bad = createBlock(
      {
        header: {...orig.header.toJSON(), ...c.header},
        transactions: c.transactions ?? orig.transactions,
        withdrawals: orig.withdrawals?.map((w) => w.toJSON()),
      },
      {common: this.common},
    );
    this.blocks.set(hex(bad.hash()), bad);
    const keys = this.keys.get(hex(orig.hash()));
    if (keys) this.keepKeys(hex(bad.hash()), [...keys, ...(c.keys ?? []).filter((k) => k && !keys.includes(k))]);
    this.realStateRoots.set(hex(bad.hash()), orig.header.stateRoot);
    return toSszPayload(bad);
  }

  async newPayload(
    p: electra.ExecutionPayload,
    parentBeaconBlockRoot: Uint8Array,
  ): Promise<{valid: boolean; reason?: string}> {
    const parent = this.blocks.get(hex(p.parentHash));
    if (!parent) return {valid: false, reason: `unknown execution parent ${hex(p.parentHash)}`};
    let block: Block;
    try {
      block = await createBlockFromExecutionPayload(toJsonPayload(p, parentBeaconBlockRoot), {common: this.common});
    } catch (e) {
      return {valid: false, reason: `payload does not hash to its block hash: ${errorMessage(e)}`};
    }
    // A payload this engine built (or already checked) is known valid, as an EL that built it knows.
    if (this.blocks.has(hex(block.hash()))) return {valid: true};
    const verdict = await this.reexecute(block, parent);
    if (verdict.valid) this.blocks.set(hex(block.hash()), block);
    return verdict;
  }

  /** Runs `block`'s transactions and withdrawals on its parent's state; any root, bloom or gas mismatch refuses it. */
  async reexecute(block: Block, parent: Block): Promise<{valid: boolean; reason?: string}> {
    try {
      const vm = await this.vm.shallowCopy();
      await runBlock(vm, {
        block,
        root: this.stateRootOf(parent),
        skipHeaderValidation: true,
        skipBlockValidation: true,
      });
      return {valid: true};
    } catch (e) {
      return {valid: false, reason: `re-execution disagrees with the payload: ${errorMessage(e)}`};
    }
  }

  /**
   * The accounts and storage slots block `hash` touches on its parent's state (debug_executionWitness's keys),
   * found by running it once more on a recording state, then cached: every node of a cluster asks for each block.
   */
  async accessedKeys(hash: Uint8Array): Promise<string[] | undefined> {
    const key = hex(hash);
    const cached = this.keys.get(key);
    if (cached) return cached;
    const block = this.blocks.get(key);
    const parent = block && this.blocks.get(hex(block.header.parentHash));
    if (!block || !parent) return undefined;
    const sm = (this.vm.stateManager as MerkleStateManager).shallowCopy();
    const {manager, record} = recordStateAccess(sm);
    const vm = await createVM({common: this.common, stateManager: manager});
    // A fault-injected block fails its root check at the end: its accesses are all made by then.
    await runBlock(vm, {
      block,
      root: this.stateRootOf(parent),
      skipHeaderValidation: true,
      skipBlockValidation: true,
    }).catch(() => undefined);
    const keys = keysOf(record);
    this.keepKeys(key, keys);
    return keys;
  }

  private keepKeys(hash: string, keys: string[]): void {
    this.keys.set(hash, keys);
    while (this.keys.size > KEYS_KEPT) this.keys.delete(this.keys.keys().next().value as string);
  }

  /** Its own state manager on the post-state of block `hash`: what the JSON-RPC answers from. */
  async stateAt(hash: Uint8Array): Promise<MerkleStateManager | undefined> {
    const key = hex(hash);
    const kept = this.states.get(key);
    if (kept) return kept;
    const block = this.blocks.get(key);
    if (!block) return undefined;
    const sm = (this.vm.stateManager as MerkleStateManager).shallowCopy();
    await sm.setStateRoot(this.stateRootOf(block));
    this.states.set(key, sm);
    while (this.states.size > STATES_KEPT) this.states.delete(this.states.keys().next().value as string);
    return sm;
  }

  executionRpc(): ExecutionRpcEngine {
    return this;
  }

  /** The engine's own block for `hash` (benchmarks and the JSON-RPC read it). */
  block(hash: Uint8Array): Block | undefined {
    return this.blocks.get(hex(hash));
  }
}

/** A recorded run's accounts, then its storage slots: debug_executionWitness's `keys`, one flat list as geth's. */
function keysOf(record: AccessRecord): string[] {
  const slots = new Set([...record.touched.values()].flatMap((s) => [...s]));
  return [...record.touched.keys(), ...slots];
}

function toSszPayload(block: Block): electra.ExecutionPayload {
  const h = block.header;
  return {
    parentHash: h.parentHash,
    feeRecipient: h.coinbase.bytes,
    stateRoot: h.stateRoot,
    receiptsRoot: h.receiptTrie,
    logsBloom: h.logsBloom,
    prevRandao: h.mixHash,
    blockNumber: Number(h.number),
    gasLimit: Number(h.gasLimit),
    gasUsed: Number(h.gasUsed),
    timestamp: Number(h.timestamp),
    extraData: h.extraData,
    baseFeePerGas: h.baseFeePerGas as bigint,
    blockHash: block.hash(),
    transactions: block.transactions.map((tx) => tx.serialize()),
    withdrawals: (block.withdrawals ?? []).map((w) => ({
      index: Number(w.index),
      validatorIndex: Number(w.validatorIndex),
      address: w.address.bytes,
      amount: w.amount,
    })),
    blobGasUsed: h.blobGasUsed ?? 0n,
    excessBlobGas: h.excessBlobGas ?? 0n,
  };
}

function toJsonPayload(p: electra.ExecutionPayload, parentBeaconBlockRoot: Uint8Array) {
  const q = (n: number | bigint): PrefixedHexString => `0x${n.toString(16)}`;
  return {
    parentHash: hex(p.parentHash),
    feeRecipient: hex(p.feeRecipient),
    stateRoot: hex(p.stateRoot),
    receiptsRoot: hex(p.receiptsRoot),
    logsBloom: hex(p.logsBloom),
    prevRandao: hex(p.prevRandao),
    blockNumber: q(p.blockNumber),
    gasLimit: q(p.gasLimit),
    gasUsed: q(p.gasUsed),
    timestamp: q(p.timestamp),
    extraData: hex(p.extraData),
    baseFeePerGas: q(p.baseFeePerGas),
    blockHash: hex(p.blockHash),
    transactions: p.transactions.map(hex),
    withdrawals: p.withdrawals.map((w) => ({
      index: q(w.index),
      validatorIndex: q(w.validatorIndex),
      address: hex(w.address),
      amount: q(w.amount),
    })),
    blobGasUsed: q(p.blobGasUsed),
    excessBlobGas: q(p.excessBlobGas),
    parentBeaconBlockRoot: hex(parentBeaconBlockRoot),
    // Electra block bodies carry no execution requests on this devnet: sha256 of the empty request list.
    requestsHash: "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" as PrefixedHexString,
  };
}
