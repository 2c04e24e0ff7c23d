import {createHash} from "node:crypto";

/** Order of the BLS12-381 scalar field (the group order r). */
export const BLS_CURVE_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

function leBytesToBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number);
  return v;
}

export function bigintToBytes32BE(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * The interop (devnet) secret key of validator `index`, as the consensus specs' mocked start defines it:
 * `int.from_bytes(sha256(index as 32-byte little-endian), "little") mod r`, returned big-endian as every
 * BLS library serialises secret keys. Equal to Lodestar's `interopSecretKey(index)` (tested).
 */
export function interopSecretKey(index: number): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0)
    throw new Error(`interop index must be a non-negative integer, got ${index}`);
  const preimage = new Uint8Array(32);
  new DataView(preimage.buffer).setBigUint64(0, BigInt(index), true);
  const digest = createHash("sha256").update(preimage).digest();
  return bigintToBytes32BE(leBytesToBigint(digest) % BLS_CURVE_ORDER);
}
