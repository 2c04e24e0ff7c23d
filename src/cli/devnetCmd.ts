import {Option, type Command} from "commander";
import {DEFAULT_CHAOS} from "../devnetCluster/chaos.js";
import {DevnetRunError} from "../devnetCluster/errors.js";
import {DEFAULT_SLOT_SECONDS, type DevnetRunFlags, parseRunOptions} from "../devnetCluster/options.js";
import {VERIFY_MODES} from "../node/config.js";
import {RECOVERER_MODES} from "../roles/validator/exchange/recoverers.js";
import {createLogger} from "../util/logger.js";

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
const EXIT_INTERRUPTED = 130;

export function registerDevnet(program: Command): void {
  program
    .command("devnet")
    .summary(
      "what `npm start` runs: a cluster on the embedded devnet, nodes killed and restarted, a live view and a report judged by the chain",
    )
    .description(
      "Creates a cluster of interop validators, starts the devnet beacon node and one `r3dv run` process per node on 127.0.0.1, " +
        "kills and restarts nodes on a schedule, shows the cluster every slot, and ends with a report (stdout, OUT/report.md, OUT/report.html). " +
        "Exit code 0 only if every target in the report's verdict is met: 99% effectiveness, finality, 99% sync committee participation, " +
        "every accepted aggregate included and no missed proposal (in epochs with a quorum up), no slashable signature, " +
        "every node verifying the devnet's blocks (unless --verify off) and judging invalid exactly the injected invalid heads, " +
        "and nothing signed over an invalid head.",
    )
    .option("--nodes <N>", "nodes in the cluster", "4")
    .option("--threshold <M>", "signatures needed (default ceil(2N/3))")
    .option("--validators <V>", "interop validators (the whole devnet)", "64")
    // 6 epochs of 4 s slots: the default chaos (an invalid head in epoch 1, a node down from epoch 2 to 4) and
    // finality advancing after it,
    // and with the build and the cluster's start `npm start` ends within about 4 minutes on a 2-core machine.
    .option("--epochs <E>", "epochs to run (8 slots each)", "6")
    .option(
      "--slot-seconds <S>",
      "the devnet's slot length; 2 halves the run on a fast machine, 12 is mainnet's",
      String(DEFAULT_SLOT_SECONDS),
    )
    .option("--slot-ms <MS>", "the slot length in milliseconds (a whole number of seconds), instead of --slot-seconds")
    .option("--forever", "run until Ctrl-C, then report")
    .option(
      "--chaos <SCHEDULE>",
      "faults: ACTION:NODE@EPOCH,... with ACTION kill (SIGKILL; kill:N@0 is a node down from genesis), start or restart (both at once), restart-all@EPOCH (one node an epoch, a rolling upgrade), invalid-head@EPOCH (the devnet makes an invalid block its head at the epoch's third slot, as a buggy consensus client would), invalid-payload@EPOCH (the same with a consensus-valid block whose payload claims a wrong state root, as a buggy execution client would) and invalid-tx@EPOCH (a consensus-valid block whose payload carries a transaction that cannot run)",
      DEFAULT_CHAOS,
    )
    .option("--no-chaos", "no faults")
    .option("--out <DIR>", "where the report, logs and slashing-protection exports go", "devnet-out")
    .option(
      "--genesis-delay <SECONDS>",
      "seconds from the devnet beacon node's start (once every node has loaded its keys) to genesis",
      "8",
    )
    .option(
      "--builder",
      "the builder API: the devnet beacon node gets a block builder and every node runs with --builder on (registrations, builders' blocks, local fallback)",
    )
    .addOption(
      new Option(
        "--verify <MODE>",
        "every node's --verify: enforce (each node verifies and re-executes every block and signs only verified heads), advisory (verifies, signs as off) or off (the baseline: what verification costs and what it protects)",
      )
        .choices(VERIFY_MODES)
        .default("enforce"),
    )
    .addOption(
      new Option(
        "--recoverers <MODE>",
        "every node's --recoverers: all (the nodes' default: every node recovers and submits every attestation) or designated (n-t+1 of them per validator and slot)",
      ).choices(RECOVERER_MODES),
    )
    .option(
      "--latency <RTT[/JITTER]>",
      "far-apart operators: a delay proxy in front of every node's p2p port adds this round trip between nodes, in ms, with this much jitter (e.g. 100/20)",
    )
    .option("--keep", "keep the cluster's keys and the nodes' data dirs (a temp folder) instead of deleting them")
    // Not below info: the run reads the nodes' "validator duties started" line to know a restart is over.
    .addOption(
      new Option("--log-level <level>", "the nodes' log level (their logs are in OUT/logs)")
        .choices(["info", "debug"])
        .default("info"),
    )
    .action(async (flags: DevnetRunFlags) => {
      const opts = parseRunOptions(flags);
      // Loaded after main.ts chose the minimal preset for this command.
      const {runDevnet} = await import("../devnetCluster/run.js");
      const logger = createLogger("warn", "devnet");
      const abort = new AbortController();
      let interrupted: string | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        // A second Ctrl-C: stop waiting. The run's exit hook SIGKILLs every process it started.
        if (interrupted) process.exit(EXIT_INTERRUPTED);
        interrupted = signal;
        console.log(`\n${signal}: stopping the run and every process it started (again to kill them at once)`);
        abort.abort();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        const result = await runDevnet(opts, {out: process.stdout, signal: abort.signal, logger});
        if (result) console.log("\n" + result.markdown + `\nreport: ${opts.out}/report.md and ${opts.out}/report.html`);
        if (interrupted && !opts.epochs) {
          if (!result?.report.passed) process.exitCode = EXIT_INTERRUPTED;
          return;
        }
        if (interrupted)
          throw new DevnetRunError(
            {code: "DEVNET_RUN_INTERRUPTED", signal: interrupted},
            `interrupted by ${interrupted}; every process the run started is stopped`,
          );
        if (result && !result.report.passed) {
          const failed = result.report.targets.filter((t) => !t.met).map((t) => t.name);
          throw new DevnetRunError(
            {code: "DEVNET_RUN_TARGETS_MISSED", failed, report: `${opts.out}/report.md`},
            `the run missed its targets: ${failed.join(", ")} (see ${opts.out}/report.md)`,
          );
        }
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
