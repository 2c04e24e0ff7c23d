import {readFileSync} from "node:fs";

/**
 * Which Lodestar preset this process needs, decided before any @lodestar module loads (they freeze it on
 * first import): the devnet beacon node and `r3dv devnet`
 * (which creates a devnet cluster and whose children inherit the preset) run minimal; `r3dv run` follows its lock (a devnet cluster is
 * minimal, every public network mainnet). Reads only the lock's `network` field; a lock that cannot be read
 * here is left for `run` to refuse with its full error.
 */
export function presetForCommand(args: string[], env: NodeJS.ProcessEnv): "minimal" | undefined {
  if (args[0] === "devnet-beacon" || args[0] === "devnet") return "minimal";
  if (args[0] !== "run") return undefined;
  let lock = env.R3DV_LOCK;
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--lock") lock = args[i + 1];
    else if (a.startsWith("--lock=")) lock = a.slice("--lock=".length);
  }
  if (!lock) return undefined;
  try {
    return (JSON.parse(readFileSync(lock, "utf8")) as {network?: unknown}).network === "devnet" ? "minimal" : undefined;
  } catch {
    return undefined;
  }
}
