import {createWriteStream} from "node:fs";
import {mkdtemp, readFile, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {randomBytes} from "node:crypto";
import {SecretKey} from "@chainsafe/blst";
import {parseRunOptions} from "../src/devnetCluster/options.js";
import type {Report} from "../src/devnetCluster/report.js";
import {runDevnet} from "../src/devnetCluster/run.js";
import {initHerumi} from "../src/hotpath/herumi.js";
import {parseRssAnon} from "../src/node/residentMemory.js";
import {recoverSignature, sign, splitSecretKey, verifySignature} from "../src/hotpath/threshold.js";
import {createLogger} from "../src/util/logger.js";
import {type BenchRow, latencyStats} from "./harness.js";
import type {Suite} from "./harness.js";

/**
 * Mainnet-equivalent validator counts the suite runs (issue 14: 1,000, 3,000 and 10,000); `R3DV_BENCH_SCALE=1000,2000`
 * runs others. Mainnet-equivalent: the same attestations per slot and the same slot as mainnet, so on the minimal
 * preset's 8-slot epochs a quarter as many validators with 12 s slots.
 */
const DEFAULT_SCALES = [1000, 3000, 10_000];
const MAINNET_PER_MINIMAL = 32 / 8;
const SLOT_MS = 12_000;
/**
 * Three epochs: the first slots carry the start's work (nodes ready after genesis), the last two are steady.
 * `R3DV_BENCH_SCALE_EPOCHS=38` is issue 14's one-hour run (38 epochs of 8 slots of 12 s): whether memory stays flat.
 */
const EPOCHS = Number(process.env.R3DV_BENCH_SCALE_EPOCHS ?? 3);
/**
 * Every node's `--recoverers` (`R3DV_BENCH_RECOVERERS=designated` to measure n - t + 1 recoverers per attestation);
 * `all`, the nodes' default, by default so runs compare with the README's table.
 */
const RECOVERERS = process.env.R3DV_BENCH_RECOVERERS ?? "all";
/** Node processes sampled this often: enough for peak RSS; each sample reads /proc and one /metrics page a node. */
const SAMPLE_MS = 3000;
/** Linux's USER_HZ: /proc/PID/stat counts CPU in these ticks on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
/** Crypto micro-costs measured before each run: enough calls for a stable mean at ~0.3-1.5 ms each. */
const CRYPTO_CALLS = 300;

interface NodeUsage {
  cpuTicks: number;
  rssBytes: number;
  /** Anonymous resident memory (RssAnon): the heap and native allocations, without the series' mapped file pages. */
  anonBytes: number;
  pushBytesRead: number;
}

async function readUsage(pid: number, http: string | undefined): Promise<NodeUsage | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces) start after its closing parenthesis: utime, stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    let pushBytesRead = 0;
    if (http) {
      const metrics = await fetch(`${http}/metrics`, {signal: AbortSignal.timeout(2000)}).then((r) => r.text());
      for (const m of metrics.matchAll(/^r3dv_push_bytes_read_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)/gm))
        pushBytesRead += Number(m[1]);
    }
    return {
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      rssBytes: rssKb * 1024,
      anonBytes: parseRssAnon(status) ?? rssKb * 1024,
      pushBytesRead,
    };
  } catch {
    return undefined;
  }
}

/** Every node process's usage over the run, from OUT/processes.json and each node's "http listening" log line. */
class Sampler {
  private readonly first = new Map<string, NodeUsage & {t: number}>();
  private readonly last = new Map<string, NodeUsage & {t: number}>();
  private readonly peakRss = new Map<string, number>();
  private readonly peakAnon = new Map<string, number>();
  /** Every node's anonymous memory at each sample after genesis: the memory trend over the run. */
  private readonly anonAfterGenesis: {node: string; t: number; bytes: number}[] = [];
  /** Each node's HTTP address, read once from its log: logs grow by megabytes a run, a sample must not reread them. */
  private readonly http = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private from = 0;

  constructor(private readonly out: string) {}

  /** Starts counting CPU at `fromMs` (genesis): the key loading before it is the start's cost, not the duties'. */
  start(fromMs: () => number | undefined): void {
    this.timer = setInterval(() => void this.sample(fromMs()), SAMPLE_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async sample(fromMs: number | undefined): Promise<void> {
    let procs: {name: string; pid: number}[];
    try {
      procs = JSON.parse(await readFile(join(this.out, "processes.json"), "utf8")) as typeof procs;
    } catch {
      return;
    }
    for (const p of procs.filter((x) => x.name.startsWith("node-"))) {
      if (!this.http.has(p.name)) {
        const log = await readFile(join(this.out, "logs", `${p.name}.log`), "utf8").catch(() => "");
        const http = /"address":"(http:\/\/[^"]+)","msg":"http listening"/.exec(log)?.[1];
        if (http) this.http.set(p.name, http);
      }
      const u = await readUsage(p.pid, this.http.get(p.name));
      if (!u) continue;
      const now = Date.now();
      this.peakRss.set(p.name, Math.max(this.peakRss.get(p.name) ?? 0, u.rssBytes));
      this.peakAnon.set(p.name, Math.max(this.peakAnon.get(p.name) ?? 0, u.anonBytes));
      if (fromMs === undefined || now < fromMs) continue;
      this.anonAfterGenesis.push({node: p.name, t: now, bytes: u.anonBytes});
      if (!this.first.has(p.name)) this.first.set(p.name, {...u, t: now});
      this.last.set(p.name, {...u, t: now});
      this.from = this.from || now;
    }
  }

  /**
   * Anonymous memory over the nodes in the first and the last quarter of the run after genesis: the lowest (close
   * to what a full GC leaves) and the highest (V8 collects lazily, so it swings ~100 MB above the lowest). A leak
   * raises both from the first quarter to the last.
   */
  anonTrend(): {first: {low: number; high: number}; last: {low: number; high: number}; minutes: number} | undefined {
    const s = this.anonAfterGenesis;
    if (s.length < 8) return undefined;
    const from = s[0]?.t as number;
    const to = s[s.length - 1]?.t as number;
    const quarter = (to - from) / 4;
    // Loops, not Math.min(...): an hour's samples of four nodes may pass the argument limit.
    const range = (xs: typeof s) =>
      xs.reduce((a, x) => ({low: Math.min(a.low, x.bytes), high: Math.max(a.high, x.bytes)}), {
        low: Infinity,
        high: 0,
      });
    return {
      first: range(s.filter((x) => x.t <= from + quarter)),
      last: range(s.filter((x) => x.t >= to - quarter)),
      minutes: (to - from) / 60_000,
    };
  }

  /** Over every node: CPU seconds and push bytes received between the first and last samples after genesis. */
  totals(): {cpuSeconds: number; pushBytes: number; seconds: number; peakRssBytes: number[]; peakAnonBytes: number[]} {
    let cpu = 0;
    let bytes = 0;
    let seconds = 0;
    for (const [name, a] of this.first) {
      const b = this.last.get(name) ?? a;
      cpu += (b.cpuTicks - a.cpuTicks) / CLOCK_TICKS_PER_SECOND;
      bytes += b.pushBytesRead - a.pushBytesRead;
      seconds = Math.max(seconds, (b.t - a.t) / 1000);
    }
    return {
      cpuSeconds: cpu,
      pushBytes: bytes,
      seconds,
      peakRssBytes: [...this.peakRss.values()],
      peakAnonBytes: [...this.peakAnon.values()],
    };
  }
}

/** Mean ms of one call, over CRYPTO_CALLS calls. */
function meanMs(f: () => unknown): number {
  const t = performance.now();
  for (let i = 0; i < CRYPTO_CALLS; i++) f();
  return (performance.now() - t) / CRYPTO_CALLS;
}

/** The crypto a node does per attestation, measured on this machine right before the run (main thread, idle). */
async function cryptoCosts(): Promise<{sign: number; recover: number; verify: number}> {
  const bls = await initHerumi();
  // As the BLS workers recover (blsWorker.ts): partials are not order-checked, the recovered signature is verified.
  bls.verifySignatureOrder(false);
  const secret = SecretKey.fromKeygen(randomBytes(32)).toBytes();
  const shares = splitSecretKey(secret, 3, 4);
  const message = randomBytes(32);
  const pubkey = SecretKey.fromBytes(secret).toPublicKey().toBytes();
  const partials = [1, 2, 3].map((i) => ({shareIndex: i, signature: sign(shares[i - 1] as Uint8Array, message)}));
  const whole = recoverSignature(partials);
  return {
    sign: meanMs(() => sign(shares[0] as Uint8Array, message)),
    recover: meanMs(() => recoverSignature(partials)),
    verify: meanMs(() => verifySignature(pubkey, message, whole)),
  };
}

interface ScaleNumbers {
  mainnet: number;
  validators: number;
  report: Report;
  crypto: {sign: number; recover: number; verify: number};
  usage: ReturnType<Sampler["totals"]>;
  anonTrend: ReturnType<Sampler["anonTrend"]>;
}

async function run(mainnet: number): Promise<ScaleNumbers> {
  const validators = Math.round(mainnet / MAINNET_PER_MINIMAL);
  const crypto = await cryptoCosts();
  const out = await mkdtemp(join(tmpdir(), `r3dv-bench-scale-${mainnet}-`));
  const view = createWriteStream(join(out, "live.txt"));
  const sampler = new Sampler(out);
  let genesisMs: number | undefined;
  try {
    const o = parseRunOptions({
      nodes: "4",
      validators: String(validators),
      epochs: String(EPOCHS),
      slotSeconds: String(SLOT_MS / 1000),
      chaos: false,
      out,
      genesisDelay: "8",
      verify: "enforce",
      recoverers: RECOVERERS,
      logLevel: "info",
    });
    // The run's own line "genesis in N s" gives genesis; CPU is counted from there.
    const io = {
      out: {
        write: (s: string) => {
          const m = /genesis in (-?\d+) s/.exec(s);
          if (m && genesisMs === undefined) genesisMs = Date.now() + Number(m[1]) * 1000;
          return view.write(s);
        },
        isTTY: false,
      } as unknown as NodeJS.WriteStream,
      signal: new AbortController().signal,
      logger: createLogger("error", "bench"),
    };
    sampler.start(() => genesisMs);
    const result = await runDevnet(o, io);
    if (!result) throw new Error(`the ${mainnet}-validator run ended without a report`);
    return {
      mainnet,
      validators,
      report: result.report,
      crypto,
      usage: sampler.totals(),
      anonTrend: sampler.anonTrend(),
    };
  } finally {
    sampler.stop();
    view.end();
    await rm(out, {recursive: true, force: true});
  }
}

const submitted = (r: Report, duty: string) =>
  r.facts.duties
    .filter((d) => d.duty === duty && d.status === "submitted" && typeof d.stages.submit === "number")
    .map((d) => d.stages.submit as number);

/** Each stage's end after the due time, p50/p99 over the submitted attestations: where the latency goes. */
function attestationStages(r: Report): string {
  const done = r.facts.duties.filter((d) => d.duty === "attester" && d.status === "submitted");
  return ["fetch", "consensus", "sign", "recover", "submit"]
    .map((stage) => {
      const s = latencyStats(done.flatMap((d) => (typeof d.stages[stage] === "number" ? [d.stages[stage]] : [])));
      return `${stage} ${s.p50}/${s.p99}`;
    })
    .join(", ");
}

/** Series bytes a node added per slot, over the run's samples (mean of the nodes). */
function seriesBytesPerSlot(r: Report): number {
  const first = r.facts.samples.find((s) => s.nodes.every((n) => n.seriesBytes !== undefined));
  const last = [...r.facts.samples].reverse().find((s) => s.nodes.every((n) => n.seriesBytes !== undefined));
  if (!first || !last || last.slot === first.slot) return NaN;
  const sum = (s: typeof first) => s.nodes.reduce((a, n) => a + (n.seriesBytes ?? 0), 0);
  return (sum(last) - sum(first)) / first.nodes.length / (last.slot - first.slot);
}

function anonTrendLine(a: NonNullable<ScaleNumbers["anonTrend"]>): string {
  const mb = (b: number) => Math.round(b / 2 ** 20);
  return `  anonymous memory of the nodes over ${a.minutes.toFixed(0)} min, first quarter -> last quarter: lowest ${mb(a.first.low)} -> ${mb(a.last.low)} MB, highest ${mb(a.first.high)} -> ${mb(a.last.high)} MB`;
}

/**
 * Issue 14's scale table: a 4-node cluster of real `r3dv run` processes on the embedded devnet (`r3dv devnet
 * --validators V --slot-ms 12000 --epochs 3 --no-chaos`) at each mainnet-equivalent size, all on this machine: the
 * attestations on time and due-to-submit p50/p99, aggregates' and sync messages' p50/p99, CPU per attestation duty
 * for the four nodes (all their work: every duty, block verification, the exchange) beside the crypto costs measured
 * just before, peak RSS per node, bytes each node received per slot, and series growth per validator per day.
 */
export const scaleSuite: Suite = {
  name: "scale",
  async measure() {
    const scales = (process.env.R3DV_BENCH_SCALE ?? DEFAULT_SCALES.join(",")).split(",").map(Number);
    const rows: BenchRow[] = [];
    for (const mainnet of scales) {
      const x = await run(mainnet);
      const r = x.report;
      const att = latencyStats(submitted(r, "attester"));
      const agg = latencyStats(submitted(r, "aggregator"));
      const sync = latencyStats(submitted(r, "sync_message"));
      const slots = x.usage.seconds / (SLOT_MS / 1000);
      const attDuties = (x.validators / 8) * slots;
      const cpuPerDuty = (1000 * x.usage.cpuSeconds) / attDuties;
      const onTime = r.latency.count ? (r.latency.count - r.latency.overDeadline) / r.latency.count : 0;
      const perSlot = seriesBytesPerSlot(r);
      const perValidatorDay = (perSlot * (86_400_000 / SLOT_MS)) / x.validators / MAINNET_PER_MINIMAL;
      const rssMb = x.usage.peakRssBytes.map((b) => Math.round(b / 2 ** 20));
      const anonMb = x.usage.peakAnonBytes.map((b) => Math.round(b / 2 ** 20));
      const kbPerSlot = x.usage.pushBytes / 4 / slots / 1024;
      const label = `${x.mainnet} mainnet-equivalent (${x.validators} devnet validators, 12 s slots, --recoverers ${RECOVERERS})`;
      console.log(
        [
          `scale ${label}: report ${r.passed ? "passed" : "FAILED"}, effectiveness ${(100 * r.effectiveness).toFixed(1)}%`,
          `  attestations: ${(100 * onTime).toFixed(2)}% of ${r.latency.count} submissions on time, p50 ${att.p50} ms, p99 ${att.p99} ms after the due time (deadline ${r.latency.deadlineMs} ms)`,
          `  attestation stages, ms after the due time at each one's end, p50/p99: ${attestationStages(r)}`,
          `  aggregates: p50 ${agg.p50} ms, p99 ${agg.p99} ms (${agg.count}); sync messages: p50 ${sync.p50} ms, p99 ${sync.p99} ms (${sync.count})`,
          `  CPU ${cpuPerDuty.toFixed(1)} ms per attestation duty for the four nodes (${x.usage.cpuSeconds.toFixed(0)} s over ${slots.toFixed(0)} slots); crypto on this machine: sign ${x.crypto.sign.toFixed(2)} ms, recover 3-of-4 ${x.crypto.recover.toFixed(2)} ms, verify ${x.crypto.verify.toFixed(2)} ms`,
          `  peak RSS per node ${rssMb.join(", ")} MB, of it anonymous (heap and native; the rest is the series' mapped pages) at most ${anonMb.join(", ")} MB; each node received ${kbPerSlot.toFixed(0)} KiB a slot; series +${(perSlot / 1024).toFixed(0)} KiB a slot per node, ${(perValidatorDay / 1024).toFixed(1)} KiB per mainnet validator per day`,
          ...(x.anonTrend ? [anonTrendLine(x.anonTrend)] : []),
        ].join("\n"),
      );
      const row = (task: string, s: {p50: number; p99: number; count: number}): BenchRow => ({
        suite: "scale",
        task: `${task}, ${label}`,
        opsPerSec: NaN,
        meanMs: s.p50,
        p99Ms: s.p99,
        samples: s.count,
      });
      rows.push(
        row(`attestation due-to-submit (p50; ${(100 * onTime).toFixed(2)}% on time)`, att),
        row("aggregate due-to-submit (p50)", agg),
        row("sync message due-to-submit (p50)", sync),
        {
          suite: "scale",
          task: `CPU ms per attestation duty, four nodes (crypto: sign ${x.crypto.sign.toFixed(2)}, recover ${x.crypto.recover.toFixed(2)}, verify ${x.crypto.verify.toFixed(2)} ms), ${label}`,
          opsPerSec: NaN,
          meanMs: cpuPerDuty,
          p99Ms: NaN,
          samples: Math.round(attDuties),
        },
        {
          suite: "scale",
          task: `peak RSS MiB per node (max of ${rssMb.join(", ")}), ${label}`,
          opsPerSec: NaN,
          meanMs: Math.max(...rssMb),
          p99Ms: NaN,
          samples: rssMb.length,
        },
        {
          suite: "scale",
          task: `peak anonymous RSS MiB per node, without mapped series pages (max of ${anonMb.join(", ")}), ${label}`,
          opsPerSec: NaN,
          meanMs: Math.max(...anonMb),
          p99Ms: NaN,
          samples: anonMb.length,
        },
        ...(x.anonTrend
          ? [
              {
                suite: "scale",
                task: `anonymous memory MiB, lowest in the last quarter minus lowest in the first, over ${x.anonTrend.minutes.toFixed(0)} min, ${label}`,
                opsPerSec: NaN,
                meanMs: (x.anonTrend.last.low - x.anonTrend.first.low) / 2 ** 20,
                p99Ms: NaN,
                samples: 1,
              },
            ]
          : []),
      );
    }
    return rows;
  },
};
