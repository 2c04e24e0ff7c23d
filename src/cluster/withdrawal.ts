import {Address, createAddressFromString} from "@ethereumjs/util";

/** 0x01: withdrawals to an execution address. 0x02 (EIP-7251): the same, with balances compounding up to 2048 ETH. */
export const ETH1_ADDRESS_WITHDRAWAL_PREFIX = 0x01;
export const COMPOUNDING_WITHDRAWAL_PREFIX = 0x02;

export function withdrawalCredentials(address: string, compounding: boolean): Uint8Array {
  const creds = new Uint8Array(32);
  creds[0] = compounding ? COMPOUNDING_WITHDRAWAL_PREFIX : ETH1_ADDRESS_WITHDRAWAL_PREFIX;
  creds.set(createAddressFromString(address).bytes, 12);
  return creds;
}

export function isValidWithdrawalCredentials(creds: Uint8Array): boolean {
  if (creds.length !== 32) return false;
  if (creds[0] !== ETH1_ADDRESS_WITHDRAWAL_PREFIX && creds[0] !== COMPOUNDING_WITHDRAWAL_PREFIX) return false;
  return creds.subarray(1, 12).every((b) => b === 0);
}

export function withdrawalAddress(creds: Uint8Array): string {
  return new Address(creds.slice(12)).toString();
}
