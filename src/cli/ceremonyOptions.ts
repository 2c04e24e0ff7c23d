import type {Command} from "commander";
import {type ClusterDefinition} from "../cluster/definitionSchema.js";
import {loadDefinition} from "../cluster/definition.js";
import {KDFS, type Kdf} from "../cluster/keystores.js";
import {RunDkgError, type RunDkgOptions} from "../cluster/dkg/runDkg.js";
import {DEFAULT_CONNECT_TIMEOUT_MS} from "../cluster/dkg/runCeremony.js";
import {createLogger} from "../util/logger.js";

/** The flags `dkg` and `reshare` share, as commander gives them. */
export interface RawCeremonyOptions {
  definition: string;
  nodeDir: string;
  p2pListen?: string;
  kdf: string;
  connectTimeout: string;
}

/** Adds the flags every ceremony command takes after its own --definition and --node-dir. */
export function ceremonyFlags(command: Command): Command {
  return command
    .option("--p2p-listen <MULTIADDR>", "libp2p listen address (default: this operator's address in the ceremony)")
    .option("--kdf <KDF>", `keystore key derivation: ${KDFS.join("|")}`, "scrypt")
    .option(
      "--connect-timeout <SECONDS>",
      "how long to wait for every participant to connect",
      String(DEFAULT_CONNECT_TIMEOUT_MS / 1000),
    );
}

/**
 * Checks the shared flags, loads the definition and runs the ceremony with a signal that Ctrl-C or a stop
 * raises: the other participants are told and stop too, and nothing is written.
 */
export async function runCeremonyCommand<T>(
  raw: RawCeremonyOptions,
  component: string,
  run: (o: RunDkgOptions) => Promise<T>,
): Promise<{definition: ClusterDefinition; outcome: T}> {
  const bad = (option: string, reason: string) =>
    new RunDkgError({code: "DKG_BAD_OPTION", option, reason}, `${option}: ${reason}`);
  if (!(KDFS as readonly string[]).includes(raw.kdf)) throw bad("--kdf", `one of ${KDFS.join(", ")}`);
  if (!/^\d+$/.test(raw.connectTimeout)) throw bad("--connect-timeout", "whole seconds");
  const definition = await loadDefinition(raw.definition);
  const cancel = new AbortController();
  const stop = () => cancel.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const outcome = await run({
      definition,
      nodeDir: raw.nodeDir,
      listen: raw.p2pListen,
      kdf: raw.kdf as Kdf,
      logger: createLogger("info", component),
      connectTimeoutMs: Number(raw.connectTimeout) * 1000,
      signal: cancel.signal,
    });
    return {definition, outcome};
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
