import type {Command} from "commander";
import {loadDefinition} from "../cluster/definition.js";
import {DEFAULT_CONNECT_TIMEOUT_MS, RunDkgError, runDkg} from "../cluster/dkg/runDkg.js";
import {KDFS, type Kdf} from "../cluster/keystores.js";
import {createLogger} from "../util/logger.js";

interface RawOptions {
  definition: string;
  nodeDir: string;
  p2pListen?: string;
  kdf: string;
  connectTimeout: string;
}

export function registerDkg(program: Command): void {
  program
    .command("dkg")
    .summary("create the cluster's keys with the other operators: no machine ever holds a validator key")
    .description(
      "Run by every operator of a cluster definition at about the same time: a distributed key generation among " +
        "exactly the definition's operators over libp2p (joint Feldman, cheaters named and left out), then every " +
        "operator signs the lock. Writes NODE_DIR/cluster-lock.json, NODE_DIR/validator_keys/ (this operator's " +
        "shares) and NODE_DIR/deposit-data.json, as create-cluster does, and nothing if the ceremony fails.",
    )
    .requiredOption("--definition <FILE>", "cluster-definition.json from create-definition")
    .requiredOption("--node-dir <DIR>", "this node's folder with identity.key from create-identity")
    .option("--p2p-listen <MULTIADDR>", "libp2p listen address (default: this operator's definition address)")
    .option("--kdf <KDF>", `keystore key derivation: ${KDFS.join("|")}`, "scrypt")
    .option(
      "--connect-timeout <SECONDS>",
      "how long to wait for every operator to connect",
      String(DEFAULT_CONNECT_TIMEOUT_MS / 1000),
    )
    .action(async (raw: RawOptions) => {
      const bad = (option: string, reason: string) =>
        new RunDkgError({code: "DKG_BAD_OPTION", option, reason}, `${option}: ${reason}`);
      if (!(KDFS as readonly string[]).includes(raw.kdf)) throw bad("--kdf", `one of ${KDFS.join(", ")}`);
      if (!/^\d+$/.test(raw.connectTimeout)) throw bad("--connect-timeout", "whole seconds");
      const definition = await loadDefinition(raw.definition);
      // Ctrl-C or a stop: the other operators are told and stop too, and nothing is written.
      const cancel = new AbortController();
      const stop = () => cancel.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const {output, result, self} = await runDkg({
        signal: cancel.signal,
        definition,
        nodeDir: raw.nodeDir,
        listen: raw.p2pListen,
        kdf: raw.kdf as Kdf,
        logger: createLogger("info", "dkg"),
        connectTimeoutMs: Number(raw.connectTimeout) * 1000,
      });
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      console.log(`DKG done: operator ${self} of ${definition.operators.length}, threshold ${definition.threshold}`);
      console.log(`  lock_hash   ${output.lock.lock_hash}`);
      console.log(`  qualified   ${result.qualified.join(", ")}`);
      for (const d of result.disqualified) console.log(`  disqualified operator ${d.dealer}: ${d.reason}: ${d.detail}`);
      console.log(`  validators  ${output.lock.validators.map((v) => v.pubkey.slice(0, 12) + "..").join(" ")}`);
      console.log(`wrote ${raw.nodeDir}/cluster-lock.json, validator_keys/ and deposit-data.json`);
    });
}
