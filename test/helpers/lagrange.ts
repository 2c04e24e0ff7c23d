import {BLS_CURVE_ORDER} from "../../src/hotpath/interop.js";

/**
 * An independent Shamir check in plain bigint arithmetic (no BLS library): interpolates the polynomial
 * through (x_i, y_i) at x = 0 over the BLS12-381 scalar field. Tests use it to prove that share i really is
 * the polynomial at x = i and that m shares determine the secret.
 */
const r = BLS_CURVE_ORDER;
const mod = (a: bigint): bigint => ((a % r) + r) % r;

function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  base = mod(base);
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % r;
    base = (base * base) % r;
    exp >>= 1n;
  }
  return result;
}

export function bytesToBigintBE(b: Uint8Array): bigint {
  return BigInt("0x" + Buffer.from(b).toString("hex"));
}

export function interpolateAtZero(points: {x: number; y: bigint}[]): bigint {
  let acc = 0n;
  for (const {x: xi, y: yi} of points) {
    let num = 1n;
    let den = 1n;
    for (const {x: xj} of points) {
      if (xj === xi) continue;
      num = mod(num * BigInt(-xj));
      den = mod(den * BigInt(xi - xj));
    }
    acc = mod(acc + yi * num * modPow(den, r - 2n));
  }
  return acc;
}
