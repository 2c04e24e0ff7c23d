import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {performance} from "node:perf_hooks";
import {open} from "lmdb";
import {SlashingProtection} from "../src/storage/slashing/slashingProtection.js";
import type {BenchRow} from "./harness.js";
import type {Suite} from "./harness.js";

const PK = "0x" + "a1".repeat(48);
const ROOT = "0x" + "11".repeat(32);
/** Checks timed per row: a p99 over 300 samples is the 3rd worst, and 300 fsyncs take about a second. */
const SAMPLES = 300;

function row(task: string, ms: number[]): BenchRow {
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
  return {suite: "slashing", task, opsPerSec: 1000 / mean, meanMs: mean, p99Ms: p99, samples: ms.length};
}

/**
 * What a signing check costs now that its verdict waits for the fsync (lmdb's `flushed`), not only for the
 * commit. A node checks once per duty, so each sample starts with the database idle (the previous flush
 * done), as in a real slot: "commit" is when the verdict came before, "flush" when it comes now, for the same
 * transaction; the last row is the real check. The data dir is on the machine's disk, so the flush is an fsync.
 */
export const slashingSuite: Suite = {
  name: "slashing",
  async measure() {
    const dir = await mkdtemp(join(tmpdir(), "r3dv-bench-slashing-"));
    const env = open({path: join(dir, "sp"), compression: false});
    const db = env.openDB({name: "slashing", encoding: "msgpack"});
    const sp = new SlashingProtection(env, db);
    try {
      await sp.ensureGenesisValidatorsRoot(ROOT);
      const commit: number[] = [];
      const flush: number[] = [];
      const check: number[] = [];
      for (let n = 1; n <= SAMPLES; n++) {
        await db.flushed;
        const t0 = performance.now();
        await db.transaction(() => {
          void db.put(["raw", PK, n], {sourceEpoch: n - 1, signingRoot: ROOT});
          void db.put(["raw-wm", PK], {sourceEpoch: n - 1, targetEpoch: n});
        });
        commit.push(performance.now() - t0);
        await db.flushed;
        flush.push(performance.now() - t0);
        const t1 = performance.now();
        await sp.checkAndInsertAttestation({pubkey: PK, sourceEpoch: n - 1, targetEpoch: n, signingRoot: ROOT});
        check.push(performance.now() - t1);
      }
      return [
        row("2 writes, resolved at commit (verdict point before)", commit),
        row("2 writes, resolved at flush (verdict point now)", flush),
        row("attestation check, verdict after flush", check),
      ];
    } finally {
      await env.close();
      await rm(dir, {recursive: true, force: true});
    }
  },
};
