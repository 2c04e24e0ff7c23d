import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {spawn} from "node:child_process";
import {fileURLToPath} from "node:url";
import {generateIdentity} from "../src/cluster/identity.js";
import type {ClusterLock} from "../src/cluster/lockSchema.js";
import {toHex} from "../src/hotpath/bytes.js";
import {initHerumi} from "../src/hotpath/herumi.js";
import {interopSecretKey} from "../src/hotpath/interop.js";
import {secretToPublicKey, splitSecretKey} from "../src/hotpath/threshold.js";
import type {ShareKey} from "../src/roles/evm/duties/shareKeys.js";
import type {DutyResult} from "../src/roles/evm/duties/attesterService.js";
import type {ClusterTransport, DutyChunkKind} from "../src/roles/evm/duties/transport.js";
import {type AnyDutyResult, EvmRole} from "../src/roles/evm/evmRole.js";
import {createLogger} from "../src/util/logger.js";
import {BlsPool} from "../src/workers/blsPool.js";
import type {BenchRow, Suite} from "./harness.js";

const MAIN = fileURLToPath(new URL("../src/main.js", import.meta.url));
const SLOT_MS = 2000;
/** Epochs measured after the first (whose duties start mid-way): enough slots for a stable p99. */
const MEASURED_EPOCHS = 3;

/** In-process push between the four EVM roles (the bench measures the duty pipeline, not the network). */
function hub(): (self: number) => ClusterTransport {
  const subs = new Map<number, Map<DutyChunkKind, Set<(o: number, s: number, p: Uint8Array) => void>>>();
  return (self) => {
    const mine = new Map<DutyChunkKind, Set<(o: number, s: number, p: Uint8Array) => void>>();
    subs.set(self, mine);
    return {
      self,
      publish: (kind, slot, payload) => {
        for (const [node, kinds] of subs) if (node !== self) for (const h of kinds.get(kind) ?? []) setImmediate(() => h(self, slot, payload));
      },
      subscribe: (kind, handler) => {
        const set = mine.get(kind) ?? new Set();
        mine.set(kind, set);
        set.add(handler);
        return () => set.delete(handler);
      },
    };
  };
}

/**
 * A 3-of-4 cluster of interop validators split in memory: the bench measures duties, and 1024 validators'
 * 4096 EIP-2335 keystores would spend minutes in their KDF before the first slot.
 */
async function memoryCluster(validators: number): Promise<{lock: ClusterLock; identities: Awaited<ReturnType<typeof generateIdentity>>[]; shares: ShareKey[][]}> {
  await initHerumi();
  const identities = await Promise.all([1, 2, 3, 4].map(() => generateIdentity()));
  const lock = {threshold: 3, operators: identities.map((id, i) => ({index: i + 1, peer_id: id.peerId}))} as unknown as ClusterLock;
  const shares: ShareKey[][] = [[], [], [], []];
  for (let j = 0; j < validators; j++) {
    const secret = interopSecretKey(j);
    const parts = splitSecretKey(secret, 3, 4);
    const sharePubkeys = Object.fromEntries(parts.map((p, i) => [i + 1, secretToPublicKey(p)]));
    parts.forEach((p, i) => shares[i]?.push({pubkey: toHex(secretToPublicKey(secret)), secret: p, sharePubkeys}));
  }
  return {lock, identities, shares};
}

async function measure(validators: number): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), "r3dv-bench-duty-"));
  // The devnet chooses its own preset: do not hand it this process's.
  const env = {...process.env};
  delete env.LODESTAR_PRESET;
  const devnet = spawn(process.execPath, [MAIN, "devnet-beacon", "--port", "0", "--validators", String(validators), "--own", "none", "--slot-ms", String(SLOT_MS), "--genesis-delay", "10", "--log-level", "error"], {stdio: ["ignore", "pipe", "inherit"], env});
  const pool = new BlsPool();
  const roles: EvmRole[] = [];
  try {
    let out = "";
    devnet.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    while (!/genesis time \d+/.test(out)) await new Promise((r) => setTimeout(r, 100));
    const url = (/listening on (http:\/\/\S+)/.exec(out) as RegExpExecArray)[1] as string;
    const genesisTime = Number((/genesis time (\d+)/.exec(out) as RegExpExecArray)[1]);
    const {lock, identities, shares} = await memoryCluster(validators);
    const transport = hub();
    const results: AnyDutyResult[] = [];
    for (let i = 1; i <= 4; i++) {
      const {privateKey} = identities[i - 1] as (typeof identities)[number];
      roles.push(new EvmRole({lock, self: i, nodeDir: dir, dataDir: join(dir, `data-${i}`), beaconUrls: [url], privateKey, shares: shares[i - 1] as ShareKey[], transport: transport(i), pool, logger: createLogger("error", "bench"), onResult: (r) => results.push(r)}));
    }
    await Promise.all(roles.map((r) => r.start()));
    const epochMs = 8 * SLOT_MS;
    await new Promise((r) => setTimeout(r, Math.max(0, genesisTime * 1000 + epochMs - Date.now())));
    const cpu0 = process.cpuUsage();
    const from = results.length;
    await new Promise((r) => setTimeout(r, MEASURED_EPOCHS * epochMs));
    const cpu = process.cpuUsage(cpu0);
    const att = results.slice(from).filter((r): r is DutyResult => r.duty === "attester");
    const latencies = att.filter((r) => r.status === "submitted" && r.stages.submit !== undefined).map((r) => r.stages.submit as number).sort((a, b) => a - b);
    const duties = new Set(att.map((r) => `${r.slot}/${r.pubkey}`)).size;
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
    const cpuMsPerDuty = (cpu.user + cpu.system) / 1000 / Math.max(1, duties);
    const reasons = new Map<string, number>();
    for (const r of att) if (r.status !== "submitted") reasons.set(`${r.status}:${r.reason ?? ""}`, (reasons.get(`${r.status}:${r.reason ?? ""}`) ?? 0) + 1);
    if (reasons.size > 0) console.log(`  not submitted, by reason: ${JSON.stringify(Object.fromEntries(reasons))}; first: ${att.find((r) => r.status !== "submitted")?.detail ?? ""}`);
    console.log(`duty bench ${validators} validators: ${latencies.length} submissions by 4 nodes for ${duties} duties, failed ${att.filter((r) => r.status === "failed").length}; p50 ${q(0.5)} ms, p99 ${q(0.99)} ms from the due time; CPU ${cpuMsPerDuty.toFixed(2)} ms per duty (4 nodes and every duty: attest, aggregate, propose)`);
    const syncLatencies = results
      .slice(from)
      .flatMap((r) => (r.duty === "sync_message" && r.status === "submitted" && r.stages.submit !== undefined ? [r.stages.submit] : []))
      .sort((a, b) => a - b);
    const qs = (p: number) => syncLatencies[Math.min(syncLatencies.length - 1, Math.floor(p * syncLatencies.length))] ?? NaN;
    return [
      {suite: "duties", task: `sync committee message due->submit, ${validators} validators (p50 in mean column)`, opsPerSec: syncLatencies.length / (MEASURED_EPOCHS * epochMs / 1000), meanMs: qs(0.5), p99Ms: qs(0.99), samples: syncLatencies.length},
      {suite: "duties", task: `attestation due->submit, ${validators} validators (p50 in mean column)`, opsPerSec: duties / (MEASURED_EPOCHS * epochMs / 1000), meanMs: q(0.5), p99Ms: q(0.99), samples: latencies.length},
      {suite: "duties", task: `CPU per attestation duty, 4 nodes, ${validators} validators`, opsPerSec: NaN, meanMs: cpuMsPerDuty, p99Ms: NaN, samples: duties},
    ];
  } finally {
    await Promise.all(roles.map((r) => r.stop()));
    await pool.close();
    devnet.kill("SIGTERM");
    await rm(dir, {recursive: true, force: true});
  }
}

/** A 3-of-4 cluster's four EVM roles in this process, the embedded devnet as a separate process. */
export const dutySuite: Suite = {
  name: "duties",
  async measure() {
    const sizes = (process.env.R3DV_BENCH_DUTY_VALIDATORS ?? "64,1024").split(",").map(Number);
    const rows: BenchRow[] = [];
    for (const v of sizes) rows.push(...(await measure(v)));
    return rows;
  },
};
