import bls from "bls-eth-wasm";

/**
 * herumi's BLS (WebAssembly) does the threshold arithmetic: Shamir split and Lagrange recovery in G1/G2.
 * Chosen over @noble/curves because one G2 multiplication there takes 15 ms against 0.8 ms for a whole
 * 3-of-4 recovery here (DESIGN.md, dependencies). Its serialisation is Ethereum's (ethMode), so its bytes
 * are interchangeable with blst's.
 */
export type Herumi = typeof bls;

let ready: Promise<Herumi> | null = null;

/** The wasm module must be instantiated once per thread before use; later calls share the same promise. */
export function initHerumi(): Promise<Herumi> {
  ready ??= bls.init(bls.BLS12_381).then(() => bls);
  return ready;
}

/** For code that already awaited `initHerumi()` in this thread (workers await it at load). */
export function herumi(): Herumi {
  if (ready === null) throw new Error("herumi BLS used before initHerumi() was awaited");
  return bls;
}
