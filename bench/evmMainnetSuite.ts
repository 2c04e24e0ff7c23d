import {spawn} from "node:child_process";
import {fileURLToPath} from "node:url";
import type {BenchRow, Suite} from "./harness.js";

const SCRIPT = fileURLToPath(new URL("./mainnetState.js", import.meta.url));
/**
 * The child's heap (MB), which its verifier thread inherits (a worker takes --max-old-space-size as its own
 * limit): 8 GiB is what Lodestar's beacon node runs mainnet with, room for a 1M-validator state's trees plus the
 * states the thread keeps, and for the child's own main thread, which builds the fixture's states first. Node's
 * default on this 24 GiB machine is 4 GiB.
 */
const HEAP_MB = 8192;
/**
 * The whole run: generating 1M pubkeys (~30 s, once; cached after), building the state and blocks, the bootstrap
 * and 3 × 6 verifications take minutes on 2 loaded cores; 30 minutes means something is stuck.
 */
const TIMEOUT_MS = 30 * 60_000;
const STAGES = ["slots", "signatures", "block", "hash", "total"] as const;

interface Stats {
  meanMs: number;
  p99Ms: number;
}
interface BlockRuns extends Stats {
  slot: number;
  attesters: number;
  aggregates: number;
  samples: number;
  firstMs: number;
  stages: Record<(typeof STAGES)[number], Stats>;
}
interface MainnetResult {
  validators: number;
  fork: string;
  load: string;
  sszMB: number;
  bootstrapMs: number;
  rssBeforeMB: number;
  rssAfterMB: number;
  rssBootstrapPeakMB: number;
  rssVerifyPeakMB: number;
  ordinary: BlockRuns;
  full: BlockRuns;
  epoch: BlockRuns;
}

/**
 * The EVM role at mainnet size (1M validators, mainnet preset): bootstrap time and memory, and per-block
 * verification of an ordinary block, a block full of attestations and an epoch's first block, against the 4 s a
 * verdict has (a third of a 12 s slot). Measured by mainnetState.ts in a child process, since this one runs the
 * minimal preset and Lodestar's preset is fixed on first import.
 */
export const evmMainnetSuite: Suite = {
  name: "evm-mainnet",
  async measure() {
    const r = await runChild();
    const rows: BenchRow[] = [
      row(
        `bootstrap a ${r.sszMB.toFixed(0)} MB state in the thread: decode, caches, hash (${r.validators} validators)`,
        {
          meanMs: r.bootstrapMs,
          p99Ms: r.bootstrapMs,
          samples: 1,
        },
      ),
    ];
    const rss =
      `RSS ${r.rssBeforeMB.toFixed(0)} MB before bootstrap, ${r.rssAfterMB.toFixed(0)} MB after, peak ` +
      `${r.rssBootstrapPeakMB.toFixed(0)} MB, ${r.rssVerifyPeakMB.toFixed(0)} MB verifying (MB, not ms)`;
    rows.push(row(rss, {meanMs: NaN, p99Ms: NaN, samples: 1}));
    const blocks = [
      ["ordinary block, previous slot's committees", r.ordinary],
      ["block of 8 aggregates, 8 slots' committees", r.full],
      ["epoch's first block: the epoch transition too", r.epoch],
    ] as const;
    for (const [what, b] of blocks) {
      const name = `verify ${what} (${b.attesters} attesters, ${r.validators} validators, slot ${b.slot})`;
      rows.push(row(name, {...b, samples: b.samples}));
      for (const stage of STAGES)
        rows.push(row(`  stage ${stage} of the above (in the thread)`, {...b.stages[stage], samples: b.samples}));
    }
    return rows;
  },
};

function row(task: string, s: Stats & {samples: number}): BenchRow {
  return {suite: "evm-mainnet", task, opsPerSec: 1000 / s.meanMs, meanMs: s.meanMs, p99Ms: s.p99Ms, samples: s.samples};
}

/** Runs mainnetState.js on this Node binary under the mainnet preset; its last stdout line is the result. */
function runChild(): Promise<MainnetResult> {
  // The bench selects minimal through LODESTAR_PRESET; the child must not inherit it.
  const env = {...process.env, LODESTAR_PRESET: "mainnet"};
  const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, SCRIPT], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  let shown = 0;
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    out += chunk;
    // The human lines, each once it is complete: a run of minutes should say where it is.
    const end = out.lastIndexOf("\n") + 1;
    for (const line of out.slice(shown, end).split("\n"))
      if (line && !line.startsWith("{")) console.log(`  evm-mainnet: ${line}`);
    shown = Math.max(shown, end);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  return new Promise<MainnetResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const last = out.trimEnd().split("\n").at(-1) ?? "";
      if (code !== 0 || !last.startsWith("{"))
        return reject(new Error(`mainnetState.js ended with ${signal ?? `code ${code}`}; last output: ${last}`));
      try {
        resolve(JSON.parse(last) as MainnetResult);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }).finally(() => {
    clearTimeout(timer);
    // Every path ends the child: a harness error or an interrupted parse must not leave a 10 GB process behind.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
}
