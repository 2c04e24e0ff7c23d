/**
 * Selects Lodestar's minimal preset. `@lodestar/params` freezes its preset the first time it is evaluated, so
 * this module must be imported before anything that imports a `@lodestar/*` package (ESM evaluates imports in
 * order). The devnet always runs the minimal preset: 8 slots per epoch makes finality reachable in seconds.
 */
if (process.env.LODESTAR_PRESET !== undefined && process.env.LODESTAR_PRESET !== "minimal") {
  throw new Error(
    `the devnet needs LODESTAR_PRESET=minimal, the environment sets ${process.env.LODESTAR_PRESET}; unset it`,
  );
}
process.env.LODESTAR_PRESET = "minimal";
export {};
