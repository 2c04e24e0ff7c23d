import type {Herumi} from "./herumi.js";

/**
 * Lagrange coefficients at x = 0 for a set of share indices, as small signed integers over one common
 * denominator, computed once per index set: a cluster's recoveries use the same few sets all day (3-of-4 has four).
 *
 * Why not herumi's own `Signature.recover`: it multiplies each partial by its coefficient as a full 255-bit field
 * element, three G2 multiplications of ~0.3 ms each in WebAssembly on this project's 2-core machine, the bulk of a
 * recovery once the partials are decompressed (threshold.ts). The coefficients are
 * fractions of small integers (for shares 1, 2, 3 they are 3, -3 and 1), and a G2 multiplication by a scalar of a
 * few bits costs ~0.02 ms, so sum(c_i * sigma_i) with small c_i, then one full multiplication by the inverse of the
 * common denominator, and none when it is 1 (three of the four 3-of-4 sets). Exact arithmetic, so the signature is
 * herumi's bit for bit (test/hotpath/lagrange.test.ts checks every subset against it).
 */

/** BLS12-381's scalar field order r. */
const R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
/**
 * Above this a coefficient is no longer "small": a multiplication's cost grows with the scalar's bit length, and 64
 * bits are already a quarter of a full scalar's. Index sets that give bigger ones (large indices, high thresholds)
 * use herumi's recovery.
 */
const SMALL_LIMIT = 1n << 64n;
/** Index sets kept: C(10, 7) = 120 for the largest cluster the devnet runs; cleared when full, refilled in microseconds. */
const PLANS_MAX = 1024;

type SecretKey = InstanceType<Herumi["SecretKey"]>;
type Signature = InstanceType<Herumi["Signature"]>;
type PublicKey = InstanceType<Herumi["PublicKey"]>;

/** How to combine partials of one index set, in the order the indices were given. */
export interface RecoveryPlan {
  /** Per partial: |c_i| as a scalar, and whether c_i is negative. */
  terms: {scalar: SecretKey; negative: boolean}[];
  /** The inverse of the common denominator, absent when it is 1. */
  inverseDenominator?: SecretKey;
}

const plans = new Map<string, RecoveryPlan | null>();

const abs = (x: bigint) => (x < 0n ? -x : x);
function gcd(a: bigint, b: bigint): bigint {
  a = abs(a);
  b = abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

/** x^-1 mod r by the extended Euclidean algorithm (r is prime and x < r is not 0). */
function inverseModR(x: bigint): bigint {
  let [a, b, u, v] = [x % R, R, 1n, 0n];
  while (a !== 0n) {
    const q = b / a;
    [a, b] = [b - q * a, a];
    [u, v] = [v - q * u, u];
  }
  return ((v % R) + R) % R;
}

function scalar(bls: Herumi, x: bigint): SecretKey {
  const bytes = new Uint8Array(32);
  let v = x;
  for (let k = 31; k >= 0; k--, v >>= 8n) bytes[k] = Number(v & 0xffn);
  const sk = new bls.SecretKey();
  // Big-endian 32 bytes, as every Ethereum secret key (herumi in ETH mode reads them so).
  sk.deserialize(bytes);
  return sk;
}

/**
 * The plan for `indices` (distinct, 1-based), or null when its coefficients are not small (then the plan would gain
 * little over herumi's own recovery).
 */
export function recoveryPlan(bls: Herumi, indices: number[]): RecoveryPlan | null {
  const key = indices.join(",");
  const cached = plans.get(key);
  if (cached !== undefined) return cached;
  const xs = indices.map(BigInt);
  // lambda_i = prod_{j != i} x_j / (x_j - x_i), reduced; then over the least common denominator.
  const fractions = xs.map((xi, i) => {
    let num = 1n;
    let den = 1n;
    xs.forEach((xj, j) => {
      if (j === i) return;
      num *= xj;
      den *= xj - xi;
    });
    const g = gcd(num, den);
    return den < 0n ? {num: -num / g, den: -den / g} : {num: num / g, den: den / g};
  });
  const lcd = fractions.reduce((d, f) => (d / gcd(d, f.den)) * f.den, 1n);
  const coefficients = fractions.map((f) => f.num * (lcd / f.den));
  let plan: RecoveryPlan | null = null;
  if (coefficients.every((c) => abs(c) < SMALL_LIMIT) && lcd < R) {
    plan = {
      terms: coefficients.map((c) => ({scalar: scalar(bls, abs(c)), negative: c < 0n})),
      ...(lcd === 1n ? {} : {inverseDenominator: scalar(bls, inverseModR(lcd))}),
    };
  }
  if (plans.size >= PLANS_MAX) plans.clear();
  plans.set(key, plan);
  return plan;
}

/** The two groups' in-place C functions, which herumi's JS wrapper does not expose (its C API does). */
const OPS = {
  signature: {mul: "_blsSignatureMul", sub: "_blsSignatureSub"},
  publicKey: {mul: "_blsPublicKeyMul", sub: "_blsPublicKeySub"},
} as const;

type Point = Signature | PublicKey;

/**
 * sum(c_i * points_i) / D with the plan's small c_i, in G2 (signatures) or G1 (public keys); `zero` makes the
 * group's point at infinity (a new herumi point is one), the sum's start.
 */
export function combine<T extends Point>(
  bls: Herumi,
  group: keyof typeof OPS,
  plan: RecoveryPlan,
  points: T[],
  zero: () => T,
): T {
  const ops = OPS[group];
  const out = zero();
  plan.terms.forEach((t, k) => {
    const term = (points[k] as T).clone() as T;
    update(bls, term, ops.mul, t.scalar);
    if (t.negative) update(bls, out, ops.sub, term);
    else (out as {add(rhs: T): void}).add(term);
  });
  if (plan.inverseDenominator) update(bls, out, ops.mul, plan.inverseDenominator);
  return out;
}

/** `target = f(target, rhs)` in place, through the wrapper's own helper. */
function update(bls: Herumi, target: Point, f: string, rhs: SecretKey | Point): void {
  const mod = (bls as unknown as {mod: Record<string, unknown>}).mod;
  (target as unknown as {_update(func: unknown, rhs: unknown): void})._update(mod[f], rhs);
}
