import {existsSync} from "node:fs";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import type {TestContext} from "node:test";
import type {DutyType} from "../../../src/roles/validator/dutyTypes.js";
import type {AnyDutyResult, ValidatorRole, ValidatorRoleOptions} from "../../../src/roles/validator/validatorRole.js";
import {waitFor} from "../cluster.js";
import {MemoryHub} from "../memoryTransport.js";
import {type MemoryCluster, memoryCluster, startValidatorRoles} from "../validatorRoles.js";
import {MemoryBeacon} from "./memoryBeacon.js";
import {WatchedPool} from "./watchedPool.js";

/**
 * What the four nodes take to start, connect to their beacon nodes and fetch their first duties: ~100 ms here, five
 * times that under a loaded CI machine. Slot 1 starts this long after the nodes are made, so the first duty's slot
 * is theirs in full and the test waits for it no longer than needed.
 */
const NODES_START_MS = 500;

/**
 * Where the nodes' data dirs go when the machine has it: a RAM disk. Slashing protection commits every signing
 * durably (fsync) before the share signs; on this machine's shared disk that took 100-300 ms while another suite
 * wrote, a third of a 1 s slot's attestation window, and the duty came out late. On tmpfs it costs nothing, and
 * the commit is still the real one.
 */
const RAM_DIR = "/dev/shm";

export type NodeResult = AnyDutyResult & {node: number};

export interface DutyClusterOptions {
  /** Interop validators 0..validators-1 (validator index = interop index), split 3-of-4 in memory. */
  validators: number;
  /** What the beacon node answers (duties, faults) from the start: the nodes read duties as soon as they start. */
  script?(beacon: MemoryBeacon): void;
  /** Options of node i that differ from the others' (a transport of its own on `c.hub`, say). */
  node?(i: number, c: DutyCluster): Partial<ValidatorRoleOptions>;
  /** The URL node i reaches its beacon node by, given the scripted one's (a fault proxy in front of it, say). */
  via?(i: number, url: string): Promise<string>;
  /** Runs before node i starts (to put records in its slashing-protection DB, under `c.dataDir(i)`, say). */
  prepare?(i: number, c: DutyCluster): Promise<void>;
  /** The slot the nodes' first duties are in (1 when absent): a later one starts the cluster mid-epoch. */
  firstSlot?: number;
}

/**
 * A 3-of-4 cluster in this process for unit tests of the duties: four real validator roles (QBFT, signer with
 * LMDB slashing protection, partial signature exchange) over an in-memory hub, one real BLS worker pool shared by
 * the four, and each node's own scripted beacon node (MemoryBeacon) over HTTP. Every result is kept, tagged with
 * its node. `stop` ends everything it started, whatever state the start reached.
 */
export class DutyCluster {
  readonly results: NodeResult[] = [];
  readonly hub = new MemoryHub();
  readonly roles: ValidatorRole[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly beacon: MemoryBeacon,
    readonly memory: MemoryCluster,
    readonly dir: string,
    /** The BLS worker pool the four nodes share; a test can watch its recoveries. */
    readonly pool: WatchedPool,
  ) {}

  /** Starts a cluster that test `t` stops when it ends, passed or failed. */
  static async start(t: Pick<TestContext, "after">, o: DutyClusterOptions): Promise<DutyCluster> {
    const memory = await memoryCluster(o.validators);
    const beacon = new MemoryBeacon(memory.lock.validators.map((v) => v.pubkey));
    const dir = await mkdtemp(join(existsSync(RAM_DIR) ? RAM_DIR : tmpdir(), "r3dv-duty-"));
    // One worker: the four nodes share this machine's cores, as the four roles of the bench do.
    const c = new DutyCluster(beacon, memory, dir, new WatchedPool({size: 1}));
    t.after(() => c.stop());
    try {
      o.script?.(beacon);
      const served = await Promise.all([1, 2, 3, 4].map((i) => beacon.serve(i)));
      const urls = await Promise.all(served.map((url, k) => o.via?.(k + 1, url) ?? url));
      for (let i = 1; i <= 4; i++) await o.prepare?.(i, c);
      beacon.slotOneAfter(NODES_START_MS - ((o.firstSlot ?? 1) - 1) * beacon.slotMs);
      const roles = await startValidatorRoles({
        lock: memory.lock,
        dir: c.dir,
        memory,
        beaconUrls: [],
        pool: c.pool,
        hub: c.hub,
        onResult: (r) => c.results.push(r),
        node: (i) => ({beaconUrls: [urls[i - 1] as string], ...o.node?.(i, c)}),
      });
      c.roles.push(...roles);
      return c;
    } catch (e) {
      // Stopped now, not at the test's end: a cluster half started must not keep running into the next test.
      await c.stop();
      throw e;
    }
  }

  /** Node i's data dir (its slashing-protection DB), as startValidatorRoles names it. */
  dataDir(i: number): string {
    return join(this.dir, `data-${i}`);
  }

  /** The public key (0x hex) of validator `index`. */
  pubkey(index: number): string {
    return this.memory.lock.validators[index]?.pubkey as string;
  }

  /** The results of `duty` at `slot`, of one node and one validator if given. */
  resultsOf<D extends DutyType>(
    duty: D,
    slot: number,
    of: {node?: number; validatorIndex?: number} = {},
  ): (Extract<AnyDutyResult, {duty: D}> & {node: number})[] {
    return this.results.filter(
      (r): r is Extract<AnyDutyResult, {duty: D}> & {node: number} =>
        r.duty === duty &&
        r.slot === slot &&
        (of.node === undefined || r.node === of.node) &&
        (of.validatorIndex === undefined || r.validatorIndex === of.validatorIndex),
    );
  }

  /** The one result of `node` for validator `validatorIndex`'s `duty` at `slot`; an error unless there is exactly one. */
  resultOf<D extends DutyType>(
    duty: D,
    slot: number,
    node: number,
    validatorIndex: number,
  ): Extract<AnyDutyResult, {duty: D}> & {node: number} {
    const found = this.resultsOf(duty, slot, {node, validatorIndex});
    if (found.length !== 1)
      throw new Error(
        `node ${node}: ${found.length} ${duty} results of validator ${validatorIndex} at slot ${slot}, not one`,
      );
    return found[0] as Extract<AnyDutyResult, {duty: D}> & {node: number};
  }

  /** Waits (until `slot` starts) for a result of `duty` from each of `nodes` for each of the validators' duties. */
  async awaitResults(
    duty: DutyType,
    duties: {slot: number; validatorIndex: number}[],
    slot: number,
    nodes = [1, 2, 3, 4],
  ): Promise<void> {
    const done = () =>
      duties.every((d) => nodes.every((node) => this.resultsOf(duty, d.slot, {...d, node}).length > 0));
    await this.until(`${duty} results of nodes ${nodes.join(", ")} for ${JSON.stringify(duties)}`, done, slot);
  }

  /** Waits until `done` holds, failing once `slot` starts: each duty's results come within its own two slots. */
  async until(what: string, done: () => boolean, slot: number): Promise<void> {
    await waitFor(what, async () => done(), Math.max(0, this.beacon.slotStartMs(slot) - Date.now()), 20);
  }

  /** Stops the nodes, then the pool and the beacon nodes they used, and removes the data dirs; once, however often called. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.allSettled(this.roles.map((r) => r.stop()));
      await Promise.allSettled([this.pool.close(), this.beacon.close()]);
      await rm(this.dir, {recursive: true, force: true});
    })();
    return this.stopping;
  }
}
