import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import type {ShareKey} from "../src/roles/validator/signing/shareKeys.js";
import type {ClusterTransport, DutyChunkKind} from "../src/roles/validator/clusterTransport.js";
import {type AnyDutyResult, ValidatorRole} from "../src/roles/validator/validatorRole.js";
import {createLogger} from "../src/util/logger.js";
import {BlsPool} from "../src/workers/blsPool.js";
import {spawnDevnet} from "../test/devnet/helpers.js";
import {memoryCluster} from "../test/helpers/validatorRoles.js";
import {IN_PROCESS_SETUP, submissionRow, submissions} from "./dutyRows.js";
import type {BenchRow, Suite} from "./harness.js";

const SLOT_MS = 2000;
/** Epochs measured after the first (whose duties start mid-way): enough slots for a stable p99. */
const MEASURED_EPOCHS = 3;

/** In-process push between the four validator roles (the bench measures the duty pipeline, not the network). */
function hub(): (self: number) => ClusterTransport {
  const subs = new Map<number, Map<DutyChunkKind, Set<(o: number, s: number, p: Uint8Array) => void>>>();
  return (self) => {
    const mine = new Map<DutyChunkKind, Set<(o: number, s: number, p: Uint8Array) => void>>();
    subs.set(self, mine);
    return {
      self,
      publish: (kind, slot, payload) => {
        for (const [node, kinds] of subs)
          if (node !== self) for (const h of kinds.get(kind) ?? []) setImmediate(() => h(self, slot, payload));
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

async function measure(validators: number): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), "r3dv-bench-duty-"));
  const devnet = await spawnDevnet([
    "--validators",
    String(validators),
    "--own",
    "none",
    "--slot-ms",
    String(SLOT_MS),
    "--genesis-delay",
    "10",
    "--log-level",
    "error",
  ]);
  const pool = new BlsPool();
  const roles: ValidatorRole[] = [];
  try {
    const {lock, identities, shares} = await memoryCluster(validators);
    const transport = hub();
    const results: AnyDutyResult[] = [];
    for (let i = 1; i <= 4; i++) {
      const {privateKey} = identities[i - 1] as (typeof identities)[number];
      roles.push(
        new ValidatorRole({
          lock,
          self: i,
          nodeDir: dir,
          dataDir: join(dir, `data-${i}`),
          beaconUrls: [devnet.url],
          privateKey,
          shares: shares[i - 1] as ShareKey[],
          transport: transport(i),
          pool,
          logger: createLogger("error", "bench"),
          onResult: (r) => results.push(r),
        }),
      );
    }
    await Promise.all(roles.map((r) => r.start()));
    const epochMs = 8 * SLOT_MS;
    await new Promise((r) => setTimeout(r, Math.max(0, devnet.genesisTime * 1000 + epochMs - Date.now())));
    const cpu0 = process.cpuUsage();
    const from = results.length;
    const seconds = (MEASURED_EPOCHS * epochMs) / 1000;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu = process.cpuUsage(cpu0);
    const measured = results.slice(from);
    const att = submissions(measured, "attester", SLOT_MS);
    const sync = submissions(measured, "sync_message", SLOT_MS);
    const slots = MEASURED_EPOCHS * 8;
    const cpuMsPerSlot = (cpu.user + cpu.system) / 1000 / slots;
    const perDuty = new Map<string, number>();
    for (const r of measured) perDuty.set(r.duty, (perDuty.get(r.duty) ?? 0) + 1);
    for (const [name, x] of [
      ["attestations", att],
      ["sync committee messages", sync],
    ] as const) {
      console.log(
        `duty bench ${validators} validators, ${name}: ${x.onTime} of ${x.scheduled} scheduled submitted on time (<= ${Math.round(SLOT_MS / 3)} ms after due) by at least one node; ` +
          `${x.latency.count} submissions by the 4 nodes, p50 ${x.latency.p50} ms, p99 ${x.latency.p99} ms; not submitted: ${JSON.stringify(x.notSubmitted)}`,
      );
    }
    console.log(
      `duty bench ${validators} validators: CPU ${cpuMsPerSlot.toFixed(1)} ms per ${SLOT_MS} ms slot for every duty type together (results: ${JSON.stringify(Object.fromEntries(perDuty))}); the devnet's CPU is not counted`,
    );
    return [
      submissionRow("attestations", att, seconds, validators),
      submissionRow("sync committee messages", sync, seconds, validators),
      // The process's CPU cannot be split by duty type (one event loop and one pool serve them all): the row says so.
      {
        suite: "duties",
        task: `CPU ms per slot, all duty types together (attest, aggregate, propose, sync message, sync contribution), ${validators} validators, ${IN_PROCESS_SETUP}`,
        opsPerSec: NaN,
        meanMs: cpuMsPerSlot,
        p99Ms: NaN,
        samples: slots,
      },
    ];
  } finally {
    await Promise.all(roles.map((r) => r.stop()));
    await pool.close();
    await devnet.stop();
    await rm(dir, {recursive: true, force: true});
  }
}

/**
 * A shortcut, not a deployed cluster: a 3-of-4 cluster's four validator roles in this process (the duty pipeline
 * alone), the embedded devnet as a separate process. The 4-process cluster's latency is in `npm start`'s report.
 */
export const dutySuite: Suite = {
  name: "duties",
  async measure() {
    const sizes = (process.env.R3DV_BENCH_DUTY_VALIDATORS ?? "64,1024").split(",").map(Number);
    const rows: BenchRow[] = [];
    for (const v of sizes) rows.push(...(await measure(v)));
    return rows;
  },
};
