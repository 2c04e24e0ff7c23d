import {mkdir, rename, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {Option, type Command} from "commander";
import {createLogger} from "../util/logger.js";
import {DevnetError} from "../devnet/errors.js";
import {parseDevnetOptions, type DevnetCliFlags} from "../devnet/options.js";

export function registerDevnetBeacon(program: Command): void {
  program
    .command("devnet-beacon")
    .summary("run an embedded devnet beacon chain (real consensus rules) serving the Beacon API on 127.0.0.1")
    .option("--validators <N>", "number of interop genesis validators", "64")
    .option(
      "--own <a..b|none>",
      "validators the devnet signs for itself (attestations, proposals, sync messages)",
      "none",
    )
    .option("--port <P>", "HTTP port on 127.0.0.1 (0 picks a free one)", "5052")
    .option("--slot-ms <S>", "slot length in milliseconds (a multiple of 1000, at least 1000)", "2000")
    .addOption(new Option("--fork <fork>", "fork active from genesis").choices(["electra", "fulu"]).default("electra"))
    .option("--genesis-delay <SECONDS>", "seconds from start to genesis", "2")
    .option(
      "--builder",
      "a block builder behind the beacon node: for a validator registered with register_validator, produceBlockV3 offers its blinded block, paying 0.1 ETH to the registered fee recipient",
    )
    .option(
      "--deposits <FILE>",
      "a deposit-data.json (create-cluster, dkg) whose validators join at genesis after the interop ones",
    )
    .option("--data-dir <DIR>", "folder to write genesis.json (url, genesis time, validators) into")
    .option("--log-level <level>", "error, warn, info or debug", "info")
    .action(async (flags: DevnetCliFlags & {logLevel: string; dataDir?: string}) => {
      const opts = parseDevnetOptions(flags);
      const logger = createLogger(flags.logLevel as "info", "devnet");
      // Loaded here, after main.ts chose the minimal preset, so nothing of Lodestar's is evaluated earlier.
      const {Devnet} = await import("../devnet/devnet.js");
      const {startApiServer} = await import("../devnet/api/server.js");
      const devnet = await Devnet.create({...opts, logger});
      let url: string;
      let server;
      try {
        ({url, server} = await startApiServer(devnet, opts.port, logger));
      } catch (e) {
        if ((e as {code?: string}).code === "EADDRINUSE") {
          throw new DevnetError(
            {code: "DEVNET_BAD_OPTION", option: "--port", reason: "in use"},
            `port ${opts.port} on 127.0.0.1 is already in use: stop what listens there or pick another --port (0 picks a free one)`,
          );
        }
        throw e;
      }
      devnet.start();
      const info = {
        url,
        genesis_time: devnet.chain.genesisTime,
        validators: opts.validators,
        slot_ms: opts.slotMs,
        fork: opts.fork,
      };
      if (flags.dataDir) {
        await mkdir(flags.dataDir, {recursive: true});
        // Written whole, then renamed: `r3dv devnet` polls for this file and must never read half of it.
        const file = join(flags.dataDir, "genesis.json");
        await writeFile(`${file}.tmp`, JSON.stringify(info, null, 2) + "\n");
        await rename(`${file}.tmp`, file);
      }
      console.log(`devnet beacon node listening on ${url}`);
      console.log(
        `genesis time ${devnet.chain.genesisTime} (${new Date(devnet.chain.genesisTime * 1000).toISOString()}), ${opts.validators} validators, slot ${opts.slotMs} ms, ${opts.fork}`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      devnet.stop();
      await server.close();
    });
}
