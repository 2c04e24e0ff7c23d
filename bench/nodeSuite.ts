import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {loadLock} from "../src/cluster/lock.js";
import {encodeChunk} from "../src/hotpath/chunk.js";
import {evaluateLimiters} from "../src/hotpath/limiters.js";
import type {NodeStatus} from "../src/node/status.js";
import type {PublishResult} from "../src/roles/store/storeRole.js";
import {jsonBody} from "../src/storage/entry.js";
import {Series} from "../src/storage/series.js";
import {ethBlocksInEpoch, ethBlocksInSlot} from "../src/storage/views.js";
import {LimiterPool} from "../src/workers/limiterPool.js";
import {spawnDevnet} from "../test/devnet/helpers.js";
import {type NodeProc, ipc, makeCluster, spawnNode, waitFor} from "../test/helpers/cluster.js";
import {Member} from "../test/helpers/member.js";
import {type BenchRow, type BenchTask, type Suite, latencyStats} from "./harness.js";

const LOCK = "0x" + "ab".repeat(32);
/** Mainnet's slot: the node measurements run at the pace a deployed node does its duties. */
const DEPLOYED_SLOT_MS = 12_000;

function row(task: string, samples: number[], opsPerSec?: number): BenchRow {
  const x = latencyStats(samples);
  return {
    suite: "node",
    task: `${task} (p50 ${x.p50.toFixed(2)} ms)`,
    opsPerSec: opsPerSec ?? 1000 / x.mean,
    meanMs: x.mean,
    p99Ms: x.p99,
    samples: x.count,
  };
}

function chunkBytes(i: number, payload = 32): Uint8Array {
  return encodeChunk({
    kind: "probe",
    slot: 1 + (i >> 10),
    origin: 2,
    seq: i,
    t: 1,
    payload: Buffer.alloc(payload, i & 255),
    sig: new Uint8Array(64),
  });
}

/** A series of `n` entries (chunks and refusals), written in batches. */
async function seriesOf(n: number): Promise<{series: Series; dir: string}> {
  const dir = await mkdtemp(join(tmpdir(), "r3dv-bench-series-"));
  const series = await Series.open({dir, lockHash: LOCK, operator: 1, budgetBytes: 1e12, slotsPerEpoch: 32});
  for (let i = 0; i < n; i += 10_000) {
    for (let j = i; j < Math.min(n, i + 10_000); j++) {
      if (j % 4 === 3)
        void series.append(
          "chunk_refused",
          jsonBody({from: 2, origin: 2, kind: "probe", slot: 1, id: "0x", limiter: "objective", reason: "too_old"}),
          "batched",
        );
      else void series.appendChunk("chunk_accepted", 2, chunkBytes(j), "batched");
    }
    await series.flush();
  }
  return {series, dir};
}

export const nodeSuite: Suite = {
  name: "node",
  async setup() {
    const dir = await mkdtemp(join(tmpdir(), "r3dv-bench-append-"));
    const s = await Series.open({dir, lockHash: LOCK, operator: 1, budgetBytes: 1e12});
    let i = 0;
    const small = await seriesOf(10_000);
    console.log("building a 1,000,000-entry series (batched appends)...");
    const big = await seriesOf(1_000_000);
    const pool = new LimiterPool(1);
    const evalOn = (series: Series) => () => {
      const v = series.views;
      evaluateLimiters({
        bytesStored: v.bytesStored,
        budgetBytes: 1e12,
        currentSlot: 1000,
        chunkSlot: 999,
        ethBlocksThisEpoch: ethBlocksInEpoch(v, 2, 999),
        ethBlocksThisSlot: ethBlocksInSlot(v, 2, 999),
        isEthBlock: true,
        connectedStorePeers: 3,
      });
    };
    const tasks: BenchTask[] = [
      {
        name: "series append, flushed (fsync) each",
        fn: async () => void (await s.appendChunk("chunk_accepted", 2, chunkBytes(i++, 1024), "flushed")),
      },
      {
        name: "series append, committed each",
        fn: async () => void (await s.appendChunk("chunk_accepted", 2, chunkBytes(i++, 1024), "committed")),
      },
      {
        name: "series append, batched x1000",
        opsPerCall: 1000,
        fn: async () => {
          for (let k = 0; k < 1000; k++) void s.appendChunk("chunk_accepted", 2, chunkBytes(i++, 1024), "batched");
          await s.flush();
        },
      },
      {name: "limiter evaluation, 10k-entry series", fn: evalOn(small.series)},
      {name: "limiter evaluation, 1M-entry series", fn: evalOn(big.series)},
      {
        name: "long-window limiter scan (worker), 10k entries",
        fn: async () => void (await pool.window(small.dir, 10_000)),
      },
    ];
    return {
      tasks,
      async teardown() {
        await pool.close();
        for (const x of [s, small.series, big.series]) await x.close();
        for (const d of [dir, small.dir, big.dir]) await rm(d, {recursive: true, force: true});
      },
    };
  },

  /**
   * Real processes on loopback: nodes 1 and 2 are `r3dv run` on the embedded devnet beacon node (its real Beacon
   * API and chain, at mainnet's 12 s slots), nodes 3 and 4 in-process members that push and flood. Measures push
   * round trip, throughput through one node, and a victim's latency under a flood at the deployed per-peer rate.
   * Two of four nodes cannot reach the threshold of 3, so the cluster's validator signs nothing here.
   */
  async measure() {
    const c = await makeCluster(4);
    // The cluster's validator 0 is one of 64; the devnet signs for the other 63 so the chain runs as a network would.
    const beacon = await spawnDevnet([
      "--validators",
      "64",
      "--own",
      "1..63",
      "--slot-ms",
      String(DEPLOYED_SLOT_MS),
      "--genesis-delay",
      "2",
      "--log-level",
      "error",
    ]);
    const lock = await loadLock(c.lock);
    const procs: NodeProc[] = [];
    const members: Member[] = [];
    const rows: BenchRow[] = [];
    try {
      procs.push(await spawnNode(c, 1, beacon.url, ["--peer-rate", "1000000"]));
      procs.push(await spawnNode(c, 2, beacon.url));
      const [n1, n2] = procs as [NodeProc, NodeProc];
      await waitFor(
        "nodes up",
        async () =>
          (await ipc<NodeStatus>(n1, "status")).ready.peersConnected >= 1 &&
          (await ipc<NodeStatus>(n1, "status")).slot !== undefined,
      );
      const slot = (await ipc<NodeStatus>(n1, "status")).slot as number;
      for (const i of [3, 4]) {
        const m = await Member.start(lock, c.nodeDir(i), i);
        await m.dial(1);
        members.push(m);
      }
      const [m3, m4] = members as [Member, Member];

      console.log("measuring push round trip...");
      // Push round trip: one 1 KiB chunk at a time, signed in advance.
      const pre: Uint8Array[] = [];
      for (let k = 0; k < 2000; k++) pre.push(await m4.chunk("probe", slot, k + 1, Buffer.alloc(1024, k & 255)));
      const ch = m4.channel(1);
      const rtt: number[] = [];
      for (const b of pre) {
        const t0 = performance.now();
        const a = await ch.push(b);
        if (a.status !== "accepted") throw new Error(`push refused: ${JSON.stringify(a)}`);
        rtt.push(performance.now() - t0);
      }
      rows.push(row("push round trip, 1 KiB chunk, loopback", rtt.slice(200)));

      console.log("measuring throughput...");
      // Throughput: two peers pipelining 1 KiB chunks as fast as node 1 answers (its bucket raised out of the way).
      const per = 15_000;
      const batches = await Promise.all(
        [m3, m4].map(async (m, j) => {
          const out: Uint8Array[] = [];
          for (let k = 0; k < per; k++)
            out.push(await m.chunk("probe", slot, 100_000 * (j + 1) + k, Buffer.alloc(1024, k & 255)));
          return out;
        }),
      );
      const results = await Promise.all(
        [m3, m4].map((m, j) => m.flood(1, batches[j] as Uint8Array[], 1e9, () => false, 60_000)),
      );
      const secs = Math.max(...results.map((r) => r.drainedSeconds));
      const accepted = results.reduce((n, r) => n + (r.answers.accepted ?? 0), 0);
      console.log("throughput answers", results.map((r) => JSON.stringify(r.answers)).join(" "));
      rows.push({
        suite: "node",
        task: `chunks accepted through one node (2 peers, 1 KiB, ${accepted} of ${2 * per})`,
        opsPerSec: accepted / secs,
        meanMs: NaN,
        p99Ms: NaN,
        samples: accepted,
      });

      console.log("measuring fairness under a flood...");
      // Fairness: a victim's (node 2's) push round trip to node 1, alone and while m4 floods 10,000 chunks/s.
      // Node 1 back to the default per-peer rate, as deployed.
      await procs.shift()?.kill();
      // A fresh data dir: otherwise node 2 spends the baseline catching up node 1's 32,000 chunks.
      await rm(c.dataDir(1), {recursive: true, force: true});
      procs.unshift(await spawnNode(c, 1, beacon.url));
      const n1b = procs[0] as NodeProc;
      await waitFor(
        "node 1 back",
        async () => (await ipc<NodeStatus>(n1b, "status")).peers.some((p) => p.operator === 2 && p.connected),
        30_000,
      );
      await waitFor("flooder reconnected", async () => {
        await m4.dial(1);
        return (
          (await m4.channel(1).push(await m4.chunk("probe", slot, 999_999, Buffer.from("hello")), 2000)).status ===
          "accepted"
        );
      });
      // Let the restart settle (catch-up, DHT refresh) before the baseline.
      await new Promise((r) => setTimeout(r, 3000));
      const victim = async (ms: number): Promise<number[]> => {
        const out: number[] = [];
        const end = Date.now() + ms;
        while (Date.now() < end) {
          const r = await ipc<PublishResult>(n2, "publish", {kind: "probe", payload: "victim"});
          const a = r.answers.find((x) => x.peer === 1);
          if (a?.status === "accepted" && a.ms !== undefined) out.push(a.ms);
        }
        return out;
      };
      const alone = await victim(3000);
      const flood: Uint8Array[] = [];
      for (let k = 0; k < 60_000; k++)
        flood.push(await m4.chunk("probe", slot, 1_000_000 + k, Buffer.alloc(100, k & 255)));
      let stop = false;
      // Right after a restart the first stream can be refused while the connection settles: retry its start.
      const startFlood = async (): Promise<Awaited<ReturnType<Member["flood"]>>> => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await m4.flood(1, flood, 10_000, () => stop);
          } catch (e) {
            if (attempt >= 5 || !/cannot open/.test(String(e))) throw e;
            await new Promise((r) => setTimeout(r, 500));
            await m4.dial(1).catch(() => undefined);
          }
        }
      };
      const flooding = startFlood();
      flooding.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
      const during = await victim(5000);
      stop = true;
      const f = await flooding.catch((e: unknown) => {
        throw new Error(`flood failed: ${e instanceof Error ? e.message : String((e as {type?: string}).type ?? e)}`);
      });
      rows.push(row("victim push RTT, no flood", alone));
      rows.push(row(`victim push RTT, peer flooding ${Math.round(f.sent / f.seconds)}/s`, during));
    } finally {
      for (const m of members) await m.stop().catch(() => undefined);
      for (const p of procs) await p.kill("SIGKILL");
      await beacon.stop();
      await c.cleanup();
    }
    return rows;
  },
};
