import {mkdir, writeFile} from "node:fs/promises";
import {availableParallelism, cpus, totalmem} from "node:os";
import {type BenchRow, emptyRows, runSuite} from "./harness.js";
import {suites} from "./suites.js";

const RESULTS_FILE = new URL("../../bench/results/latest.json", import.meta.url);

function fmt(n: number, digits = 3): string {
  return n >= 100 ? n.toFixed(0) : n.toPrecision(digits);
}

// A library promise rejected with nobody listening must not end a benchmark run without saying what it was.
process.on("unhandledRejection", (reason) => {
  console.error("unhandled rejection:", reason instanceof Error ? reason.stack : reason);
});

const filter = process.argv[2];
const selected = suites.filter((s) => !filter || s.name.includes(filter));
if (selected.length === 0) {
  console.error(
    `no benchmark suite matches ${JSON.stringify(filter)}; suites: ${suites.map((s) => s.name).join(", ")}`,
  );
  process.exit(2);
}
const rows: BenchRow[] = [];
for (const suite of selected) {
  console.log(`running suite ${suite.name}...`);
  rows.push(...(await runSuite(suite)));
}
console.table(
  rows.map((r) => ({
    suite: r.suite,
    task: r.task,
    "ops/s": fmt(r.opsPerSec),
    "mean ms": fmt(r.meanMs),
    "p99 ms": fmt(r.p99Ms),
    samples: r.samples,
  })),
);
const machine = {
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: availableParallelism(),
  memGiB: Math.round(totalmem() / 2 ** 30),
};
await mkdir(new URL(".", RESULTS_FILE), {recursive: true});
await writeFile(RESULTS_FILE, JSON.stringify({date: new Date().toISOString(), machine, rows}, null, 2) + "\n");
console.log(`wrote ${RESULTS_FILE.pathname}`);
const empty = emptyRows(rows);
if (empty.length > 0) {
  console.error(`FAILED: ${empty.length} row(s) measured nothing (0 samples), so their numbers mean nothing:`);
  for (const r of empty) console.error(`  ${r.suite}: ${r.task}`);
  process.exitCode = 1;
}
