import {Bench, type Fn} from "tinybench";

export interface BenchRow {
  suite: string;
  task: string;
  opsPerSec: number;
  meanMs: number;
  p99Ms: number;
  samples: number;
}

/** Mean, p50 and p99 of measured durations (ms); NaN for an empty list, which the run then reports as a failure. */
export function latencyStats(ms: number[]): {mean: number; p50: number; p99: number; count: number} {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return {mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN, p50: q(0.5), p99: q(0.99), count: s.length};
}

/**
 * Rows that measured nothing: a row with no samples has no value to report (its ops/s and latency would be
 * made up), so the run names them and fails instead of printing them as if they were numbers.
 */
export function emptyRows(rows: BenchRow[]): BenchRow[] {
  return rows.filter((r) => !(r.samples > 0));
}

export interface BenchTask {
  name: string;
  fn: Fn;
  /**
   * Operations one call of `fn` performs (e.g. K parallel pool jobs awaited together, to measure a pool's
   * throughput); ops/s is then K / mean call time, and latency columns are per call.
   */
  opsPerCall?: number;
}

export interface Suite {
  name: string;
  /** Builds the tasks (keys, pools, fixtures) and returns them with a cleanup. */
  setup?(): Promise<{tasks: BenchTask[]; teardown?: () => Promise<void>}>;
  /**
   * Measurements that are not one repeated function (a latency distribution under a background flood, a
   * cluster running duties for some epochs): the suite computes its own rows.
   */
  measure?(): Promise<BenchRow[]>;
}

/** Each task runs for this long (after warm-up): enough samples for a stable p99 at ~1 ms per op, short enough for a 2-core run. */
const TASK_TIME_MS = 1500;

export async function runSuite(suite: Suite): Promise<BenchRow[]> {
  const {tasks, teardown} = (await suite.setup?.()) ?? {tasks: []};
  const rows: BenchRow[] = [];
  try {
    for (const t of tasks) {
      const bench = new Bench({
        name: suite.name,
        time: TASK_TIME_MS,
        throws: true,
      });
      bench.add(t.name, t.fn);
      await bench.run();
      const r = bench.tasks[0]?.result;
      if (!r || !("latency" in r)) throw new Error(`${suite.name}/${t.name}: no result (${r?.state})`);
      rows.push({
        suite: suite.name,
        task: t.name,
        opsPerSec: ((t.opsPerCall ?? 1) * 1000) / r.latency.mean,
        meanMs: r.latency.mean,
        p99Ms: r.latency.p99,
        samples: r.latency.samplesCount,
      });
    }
  } finally {
    await teardown?.();
  }
  if (suite.measure) rows.push(...(await suite.measure()));
  return rows;
}
