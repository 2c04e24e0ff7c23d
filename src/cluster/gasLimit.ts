import {z} from "zod";

/**
 * The gas limit a cluster's builder registrations ask builders to target when its lock names none: the one
 * mainnet's validators signal in 2026 (60M gas, the default of Lodestar's, Teku's and Lighthouse's validator
 * clients since late 2025). It is in the lock, not a node flag, because every node must sign the same registration.
 */
export const DEFAULT_GAS_LIMIT = 60_000_000;

/**
 * The protocol's floor (MIN_GAS_LIMIT, 5,000) up to what a JSON number holds exactly: a limit below the floor is
 * a unit mistake (60 for 60M), which the check names.
 */
export const gasLimitSchema = z
  .number()
  .int()
  .min(5000, "below the protocol's minimum gas limit of 5000 (60000000 is 60M gas)")
  .max(Number.MAX_SAFE_INTEGER);

/** The reason `value` (a command-line option) is no gas limit, or undefined. */
export function gasLimitProblem(value: number): string | undefined {
  const r = gasLimitSchema.safeParse(value);
  return r.success ? undefined : (r.error.issues[0]?.message ?? "not a gas limit");
}
