import {type Command, Option} from "commander";
import {R3dvNode} from "../node/node.js";
import {DEFAULT_REPLICATION, RUN_FLAGS, type RawRunFlags, resolveRunOptions} from "../node/config.js";
import {createLogger} from "../util/logger.js";

/** A stop closes LMDB, libp2p and the HTTP servers in 1-2 s; several times that means something hangs. */
const STOP_DEADLINE_MS = 15_000;

export function registerRun(program: Command): void {
  const opt = (flags: string, description: string, env: string) => new Option(flags, description).env(env);
  program
    .command("run")
    .summary("run one node of a cluster: p2p host, chunk store, series, validator duties, HTTP and IPC")
    .description(
      "Run one node of a cluster. Every flag can also be given as its R3DV_* environment variable (for docker run -e).",
    )
    .addOption(opt("--lock <FILE>", "cluster-lock.json of the cluster", RUN_FLAGS.lock))
    .addOption(
      opt("--node-dir <DIR>", "this node's folder from create-cluster (identity.key, key shares)", RUN_FLAGS.nodeDir),
    )
    .addOption(opt("--data-dir <DIR>", "where the node keeps its series (LMDB); created if missing", RUN_FLAGS.dataDir))
    .addOption(
      opt(
        "--beacon-node <URL[,URL...]>",
        "Beacon API URL(s), comma-separated: reads go to the first healthy one (a markedly faster one first), submissions to all",
        RUN_FLAGS.beaconNode,
      ),
    )
    .addOption(
      opt(
        "--p2p-listen <MULTIADDR>",
        "libp2p listen address (default: this operator's lock address)",
        RUN_FLAGS.p2pListen,
      ),
    )
    .addOption(opt("--http <IP:PORT>", "serve /metrics, /livez, /readyz, /r3dv/v1/status here", RUN_FLAGS.http))
    .addOption(opt("--ipc <PATH>", "unix socket for local tools (default: DATA_DIR/r3dv.sock)", RUN_FLAGS.ipc))
    .addOption(
      opt(
        "--workers <K>",
        "worker threads for each pool: BLS recovery and verification, limiter scans (default 1)",
        RUN_FLAGS.workers,
      ),
    )
    .addOption(opt("--log-level <LEVEL>", "error, warn, info or debug (default info)", RUN_FLAGS.logLevel))
    .addOption(
      opt("--storage-budget <BYTES>", "series storage budget, e.g. 10G (default 10G)", RUN_FLAGS.storageBudget),
    )
    .addOption(
      opt(
        "--replication <K>",
        `peers that must accept a durable chunk (default ${DEFAULT_REPLICATION})`,
        RUN_FLAGS.replication,
      ),
    )
    .addOption(
      opt(
        "--peer-rate <N>",
        "chunks/s each peer may push before refusals (default 1000; raising it raises the 2 MiB/s byte budget alike)",
        RUN_FLAGS.peerRate,
      ),
    )
    .addOption(
      opt(
        "--doppelganger <on|off>",
        "before signing for a validator, check its liveness for an epoch: a key live elsewhere is never signed with (default on)",
        RUN_FLAGS.doppelganger,
      ),
    )
    .addOption(
      opt(
        "--verify <enforce|advisory|off>",
        "the EVM role: verify every block the beacon nodes announce (state transition, signatures, state root); enforce signs only for heads this node verified (an invalid head is voted around), advisory only reports each verdict (default off)",
        RUN_FLAGS.verify,
      ),
    )
    .addOption(
      opt(
        "--execution-rpc <URL[,URL]>",
        "with --verify, an execution client's JSON-RPC (eth_getProof): each block's payload is re-executed on state proven against its parent's state root, so the endpoint need not be trusted (the first URL is used; without one, payloads are taken as given)",
        RUN_FLAGS.executionRpc,
      ),
    )
    .addOption(
      opt(
        "--recoverers <all|designated>",
        "which nodes recover and submit each attestation: all (default, the most redundancy) or designated (n-t+1 per validator and slot, rotating, always one up while a quorum is: half the recovery work at 3-of-4, for thousands of validators)",
        RUN_FLAGS.recoverers,
      ),
    )
    .addOption(
      opt(
        "--builder <on|off>",
        "the builder API (MEV-boost): threshold-sign each validator's builder registration every epoch and propose builders' blocks, with a local block as fallback (default off)",
        RUN_FLAGS.builder,
      ),
    )
    .addOption(
      opt(
        "--builder-boost-factor <PERCENT>",
        "with --builder on, a builder's bid counts for this percent of its value against the beacon node's own block (default 100; 0 builds locally)",
        RUN_FLAGS.builderBoostFactor,
      ),
    )
    .action(async (flags: RawRunFlags) => {
      const opts = resolveRunOptions(flags);
      const logger = createLogger(opts.logLevel, "r3dv");
      // A library promise rejected with nobody listening (a stream closed mid-write) must not take down a
      // validator: log it and keep running. Programming errors still surface in the log at error level.
      process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", {}, reason));
      const node = await R3dvNode.create(opts, logger);
      let stopping: Promise<void> | null = null;
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info("stopping", {signal});
          // A library that never finishes closing must not keep a stopped validator alive (a supervisor would
          // wait, then SIGKILL it anyway). Nothing is lost by exiting: every slashing record is committed
          // before its signature leaves the node, and LMDB commits are atomic.
          setTimeout(() => {
            logger.error("stop did not finish in time; exiting", {signal, deadlineMs: STOP_DEADLINE_MS});
            process.exit(1);
          }, STOP_DEADLINE_MS).unref();
          stopping ??= node.stop().then(resolve, (e: unknown) => {
            logger.error("stop failed", {}, e);
            resolve();
          });
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
      });
      try {
        await node.start();
      } catch (e) {
        await node.stop().catch(() => undefined);
        throw e;
      }
      await stopped;
    });
}
