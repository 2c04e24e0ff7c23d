import {createHash} from "node:crypto";
import type {Common} from "@ethereumjs/common";
import {createFeeMarket1559Tx, type FeeMarket1559Tx} from "@ethereumjs/tx";
import {Address, createAddressFromPrivateKey, hexToBytes} from "@ethereumjs/util";
import type {VM} from "@ethereumjs/vm";

/** Prefunded externally owned accounts: enough senders that each block's transactions come from distinct ones. */
export const PREFUNDED_ACCOUNTS = 8;
/** 1,000,000 ETH each: the stream's transfers and fees never run an account dry in any devnet's lifetime. */
export const PREFUND_WEI = 10n ** 24n;
/** Transfers and contract calls per block: enough to give every payload real receipts, logs and base fee movement. */
const TRANSFERS_PER_BLOCK = 2;
const CALLS_PER_BLOCK = 2;
/** 1 gwei tip: the fee recipient earns something visible; the base fee is burnt as EIP-1559 says. */
const PRIORITY_FEE = 1_000_000_000n;
/** 21000 is a plain transfer; a counter call (SLOAD, SSTORE, LOG1) needs well under 60000. */
const TRANSFER_GAS = 21_000n;
const CALL_GAS = 60_000n;

/**
 * The counter contract in the genesis state: every call increments storage slot 0 and emits LOG1(caller) with the
 * new count, so each call writes state and leaves a log in the receipts and the bloom.
 *   PUSH1 0 SLOAD PUSH1 1 ADD DUP1 PUSH1 0 SSTORE PUSH1 0 MSTORE CALLER PUSH1 32 PUSH1 0 LOG1 STOP
 */
export const COUNTER_CODE = hexToBytes("0x600054600101806000556000523360206000a100");
export const COUNTER_ADDRESS = new Address(hexToBytes("0x00000000000000000000000000000000000c0de1"));

/** Well-known devnet keys (sha256 of a label; below the secp256k1 order with overwhelming probability, checked by signing). */
const privateKeys = Array.from(
  {length: PREFUNDED_ACCOUNTS},
  (_, i) => new Uint8Array(createHash("sha256").update(`r3dv devnet account ${i}`).digest()),
);

export function accountAddress(i: number): Address {
  return createAddressFromPrivateKey(privateKeys[i] as Uint8Array);
}

/**
 * The devnet builder's account (builder.ts): prefunded like the others, it pays each bid to the registered fee
 * recipient from its own funds, as a block builder's last transaction does on mainnet.
 */
const BUILDER_KEY = new Uint8Array(createHash("sha256").update("r3dv devnet builder").digest());
export const BUILDER_ADDRESS = createAddressFromPrivateKey(BUILDER_KEY);
const PAYMENT_GAS = 21_000n;

/** The builder's payment of `value` wei to `to`, with the builder's next nonce in `vm`'s (parent) state. */
export async function builderPayment(
  vm: VM,
  to: Uint8Array,
  value: bigint,
  baseFee: bigint,
  common: Common,
): Promise<FeeMarket1559Tx> {
  const account = await vm.stateManager.getAccount(BUILDER_ADDRESS);
  return createFeeMarket1559Tx(
    {
      chainId: common.chainId(),
      nonce: account?.nonce ?? 0n,
      maxPriorityFeePerGas: 0n,
      maxFeePerGas: baseFee * 2n,
      gasLimit: PAYMENT_GAS,
      to: new Address(to),
      value,
    },
    {common},
  ).sign(BUILDER_KEY);
}

/** An account no genesis funds and no transaction pays: its transfers cannot pay their gas. */
const UNFUNDED_KEY = new Uint8Array(createHash("sha256").update("r3dv devnet unfunded account").digest());
/**
 * 1,000 gwei: far above any base fee the devnet's few transactions lead to, so the transfer fails for the one
 * reason meant (its sender cannot pay), not for a fee below the base fee.
 */
const UNFUNDED_MAX_FEE = 1_000_000_000_000n;

/**
 * A transfer of 1 wei from the unfunded account: a transaction that must fail, so a block carrying it is invalid
 * (the invalid_tx_head fault).
 */
export async function unfundedTransfer(common: Common): Promise<FeeMarket1559Tx> {
  return createFeeMarket1559Tx(
    {
      chainId: common.chainId(),
      nonce: 0n,
      maxPriorityFeePerGas: 0n,
      maxFeePerGas: UNFUNDED_MAX_FEE,
      gasLimit: PAYMENT_GAS,
      to: accountAddress(0),
      value: 1n,
    },
    {common},
  ).sign(UNFUNDED_KEY);
}

/** Deterministic signed transactions for block `number`, with nonces read from the parent state in `vm`. */
export class TxStream {
  async next(vm: VM, number: bigint, baseFee: bigint, common: Common): Promise<FeeMarket1559Tx[]> {
    const txs: FeeMarket1559Tx[] = [];
    const n = Number(number);
    const total = TRANSFERS_PER_BLOCK + CALLS_PER_BLOCK;
    for (let k = 0; k < total; k++) {
      const from = (n * total + k) % PREFUNDED_ACCOUNTS;
      const key = privateKeys[from] as Uint8Array;
      const account = await vm.stateManager.getAccount(accountAddress(from));
      const nonce =
        (account?.nonce ?? 0n) + BigInt(txs.filter((t) => t.getSenderAddress().equals(accountAddress(from))).length);
      const isTransfer = k < TRANSFERS_PER_BLOCK;
      const tx = createFeeMarket1559Tx(
        {
          chainId: common.chainId(),
          nonce,
          maxPriorityFeePerGas: PRIORITY_FEE,
          maxFeePerGas: baseFee * 2n + PRIORITY_FEE,
          gasLimit: isTransfer ? TRANSFER_GAS : CALL_GAS,
          to: isTransfer ? accountAddress((from + 1) % PREFUNDED_ACCOUNTS) : COUNTER_ADDRESS,
          value: isTransfer ? BigInt(n) * 1_000_000_000n : 0n,
        },
        {common},
      ).sign(key);
      txs.push(tx);
    }
    return txs;
  }
}
