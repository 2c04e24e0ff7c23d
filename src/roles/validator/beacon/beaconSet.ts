import {performance} from "node:perf_hooks";
import {errorMessage} from "../../../util/errors.js";
import {BEACON_TIMEOUT_MS, getJson} from "./beaconHttp.js";
import {BeaconError} from "./errors.js";
import {syncingResponse} from "./specSchema.js";
import {type ItemFailures, ItemsRefusedError, isAlreadyKnown} from "./submitFailures.js";
import {beaconTarget} from "./beaconUrl.js";
import {
  type BeaconEndpointStatus,
  type BeaconHealth,
  type BenchReason,
  type RequestKind,
  type RequestResult,
  BeaconEndpoint,
  classify,
  mostTelling,
} from "./beaconEndpoint.js";

/**
 * The first bench lasts this long: a node that failed once (a restart, one dropped connection) is probed
 * again within a second, well inside a mainnet slot's first third, so a short hiccup costs at most one slot.
 */
const BENCH_BASE_MS = 1_000;
/** Benches double per consecutive failure up to this: a node that stays dead costs one probe per 30 s, off the duty path. */
const BENCH_MAX_MS = 30_000;
/** A node healthy this long has its failure count forgiven: the next failure is benched for BENCH_BASE_MS again, not longer. */
const STABLE_MS = 60_000;
/**
 * Health probes (`/eth/v1/node/syncing` on every node) run this often: a syncing or dead node is found by the
 * probe, not by a duty, and a benched one comes back within one probe of its bench ending. A probe is one
 * small GET per node: 0.5 requests/s per node costs nothing to a beacon node.
 */
const PROBE_INTERVAL_MS = 2_000;
/**
 * Nodes whose probe latencies differ by less than this keep the operator's order: below it the difference is
 * jitter (GC pauses, scheduling), above it it takes a visible share of the attestation budget (a devnet
 * slot's third is 667 ms, mainnet's 4 s), so the faster node is read first.
 */
const LATENCY_BAND_MS = 100;
/** Weight of the newest latency sample: the average follows a sustained slowdown within ~3 probes, while one slow answer moves it little. */
const LATENCY_EWMA_ALPHA = 0.3;
/** The health probe's route: cheap for every beacon node, and it says whether the node is synced. */
const PROBE_ROUTE = "/eth/v1/node/syncing";

export interface BeaconSetEvents {
  /** Every request to one node; `error` when it failed (the message names the node by its label). */
  request?(
    url: string,
    kind: RequestKind,
    result: RequestResult,
    seconds: number,
    route: string,
    error?: BeaconError,
  ): void;
  /** A node changed health (or was benched for another reason). */
  health?(status: BeaconEndpointStatus, previous: BeaconHealth): void;
}

export interface BeaconSetOptions {
  /** Tests shorten the benches; production uses BENCH_BASE_MS. */
  benchBaseMs?: number;
  probeIntervalMs?: number;
}

/**
 * Several beacon nodes behind one client. Reads go to the first healthy node, in the operator's order unless
 * one is markedly faster (LATENCY_BAND_MS), falling over to the next on failure; submissions go to every
 * healthy node at once and succeed when any accepts. A node that fails (no answer, 5xx, garbage) or syncs
 * is benched: skipped by reads and submissions until a background probe finds it well again; a failing
 * node's bench doubles per consecutive failure. Only when no node is healthy are benched ones tried (a long shot
 * beats certain failure).
 *
 * Hand-written rather than Lodestar's own fallback (`getClient({urls})`): that one retries on its next URL
 * per request but keeps no health between requests, so a dead first node costs every read a timeout, and it
 * submits to the first node only.
 */
export class BeaconSet {
  readonly endpoints: BeaconEndpoint[];
  private timer: NodeJS.Timeout | null = null;
  private readonly benchBaseMs: number;
  private readonly probeIntervalMs: number;

  constructor(
    urls: string[],
    private readonly events: BeaconSetEvents = {},
    opts: BeaconSetOptions = {},
  ) {
    if (urls.length === 0)
      throw new BeaconError(
        {code: "BEACON_UNREACHABLE", urls: [], reason: "no beacon node URL"},
        "no beacon node URL given; pass --beacon-node URL[,URL...]",
      );
    const labels = urls.map((u) => beaconTarget(u).label);
    // Two URLs that differ only in their masked parts would share a label (and a metric series): number them.
    this.endpoints = urls.map(
      (u, i) =>
        new BeaconEndpoint(
          i + 1,
          u,
          labels.indexOf(labels[i] as string) !== labels.lastIndexOf(labels[i] as string)
            ? `${labels[i]}#${i + 1}`
            : undefined,
        ),
    );
    this.benchBaseMs = opts.benchBaseMs ?? BENCH_BASE_MS;
    this.probeIntervalMs = opts.probeIntervalMs ?? PROBE_INTERVAL_MS;
  }

  get labels(): string[] {
    return this.endpoints.map((e) => e.label);
  }

  /** Starts the background health probe (idempotent: the node and its validator role share one set). */
  start(): void {
    if (this.timer) return;
    void this.probe();
    this.timer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Healthy (and not yet judged) nodes, fastest band first, the operator's order within a band. */
  ordered(): BeaconEndpoint[] {
    const band = (e: BeaconEndpoint) => Math.floor((e.latencyMs ?? 0) / LATENCY_BAND_MS);
    return this.endpoints.filter((e) => e.health !== "benched").sort((a, b) => band(a) - band(b) || a.index - b.index);
  }

  /** True when at least one node answered its last probe as synced. */
  anySynced(): boolean {
    return this.endpoints.some((e) => e.health === "healthy");
  }

  status(): BeaconEndpointStatus[] {
    const now = Date.now();
    return this.endpoints.map((e) => e.status(now));
  }

  /**
   * A read: the first node in order that answers wins; a failing node is benched and the next one asked.
   * `bench: false` leaves health alone: for reads whose failure can be the answer's content rather than the
   * node's state (a client checking the chain's spec against its own), so one client's refusal does not
   * bench a node that readiness and the probe find well.
   */
  async read<T>(
    route: string,
    f: (e: BeaconEndpoint) => Promise<T>,
    opts: {bench?: boolean; signal?: AbortSignal} = {},
  ): Promise<T> {
    const errors: BeaconError[] = [];
    for (const e of this.candidates()) {
      const t0 = performance.now();
      try {
        const value = await f(e);
        this.answered(e, "read", route, t0);
        return value;
      } catch (err) {
        // Abandoned by the caller: neither that node's failure nor a reason to ask the next one.
        if (opts.signal?.aborted)
          throw new BeaconError(
            {code: "BEACON_ABANDONED", url: e.label, route},
            `${route} to beacon node ${e.label} abandoned by the caller`,
          );
        errors.push(this.failed(e, "read", route, err, t0, opts.bench ?? true));
      }
    }
    throw mostTelling(errors);
  }

  /**
   * A submission: sent to every healthy node at once, done when the first accepts ("already known" is
   * accepted). One node refusing (400) while another accepts is a success: the accepting node gossips the
   * message to the network, which is all a submission is for, and the refusal is most often that node's
   * different view (it has not seen the block voted for yet). The refusal still counts in the metrics.
   * Fails only when every node refused or failed, with the most telling error.
   */
  submit(route: string, f: (e: BeaconEndpoint) => Promise<void>): Promise<void> {
    const targets = this.candidates();
    const errors: BeaconError[] = [];
    return new Promise<void>((resolve, reject) => {
      for (const e of targets) {
        const t0 = performance.now();
        f(e).then(
          () => {
            this.answered(e, "submit", route, t0);
            resolve();
          },
          (err: unknown) => {
            try {
              const be = this.failed(e, "submit", route, err, t0);
              if (classify(be) === "already_known") return resolve();
              errors.push(be);
              if (errors.length === targets.length) reject(mostTelling(errors));
            } catch (unexpected) {
              reject(unexpected instanceof Error ? unexpected : new Error(String(unexpected)));
            }
          },
        );
      }
    });
  }

  /**
   * A batch submission (pool messages), judged item by item: sent to every healthy node at once, an item is
   * taken when any node takes it (accepts it, or already knew it) and failed when every node refused or
   * failed it, with the most telling error. A node that refuses a batch without saying which items (Lodestar
   * 1.5.1 names none) is asked again with each item alone, so one already known item never hides the invalid
   * ones of its batch, and one invalid item never fails the valid ones. Resolves with the failed items.
   */
  submitItems<T>(
    route: string,
    items: T[],
    send: (e: BeaconEndpoint, items: T[]) => Promise<void>,
  ): Promise<ItemFailures> {
    const targets = this.candidates();
    const errors = items.map((): BeaconError[] => []);
    const taken = items.map(() => false);
    const failures: ItemFailures = new Map();
    let undecided = items.length;
    return new Promise<ItemFailures>((resolve, reject) => {
      if (undecided === 0) return resolve(failures);
      for (const e of targets) {
        this.itemVerdicts(e, route, items, send).then((verdicts) => {
          verdicts.forEach((v, i) => {
            if (taken[i] || failures.has(i)) return;
            if (v === null) {
              taken[i] = true;
              undecided--;
            } else if ((errors[i] as BeaconError[]).push(v) === targets.length) {
              failures.set(i, mostTelling(errors[i] as BeaconError[]));
              undecided--;
            }
          });
          if (undecided === 0) resolve(failures);
        }, reject);
      }
    });
  }

  /** One node's verdict on each item: null when it took the item, else why not. */
  private async itemVerdicts<T>(
    e: BeaconEndpoint,
    route: string,
    items: T[],
    send: (e: BeaconEndpoint, items: T[]) => Promise<void>,
  ): Promise<(BeaconError | null)[]> {
    const t0 = performance.now();
    try {
      await send(e, items);
      this.answered(e, "submit", route, t0);
      return items.map(() => null);
    } catch (err) {
      const be = this.failed(e, "submit", route, err, t0);
      if (be instanceof ItemsRefusedError) {
        const refused = new Map(be.failures.map((f) => [f.index, f]));
        return items.map((_, i) => {
          const f = refused.get(i);
          return f === undefined || isAlreadyKnown(f.message) ? null : be.itemError(f);
        });
      }
      const result = classify(be);
      if (items.length === 1) return [result === "already_known" ? null : be];
      if (result !== "refused" && result !== "already_known") return items.map(() => be);
      // Refused without naming items: which ones is only known by asking item by item (failure path only).
      const alone = await Promise.all(items.map((item) => this.itemVerdicts(e, route, [item], send)));
      return alone.map((v) => v[0] ?? null);
    }
  }

  /**
   * Asks every node that is due (healthy ones, and benched ones whose bench is over) for its sync status:
   * the probe's round trip is the latency that orders reads, and its answer benches or brings back the node.
   */
  async probe(): Promise<void> {
    const now = Date.now();
    // With no node healthy every benched one is probed, bench or not: the backoff spares the duty path a dead
    // node while another serves, and with none serving a small GET costs nothing. A node started before its
    // beacon node otherwise waited out a bench grown to BENCH_MAX_MS before it saw the beacon node up.
    const none = !this.anySynced();
    const due = this.endpoints.filter((e) => !e.probing && (e.health !== "benched" || none || now >= e.benchedUntil));
    await Promise.all(due.map((e) => this.probeOne(e)));
  }

  private async probeOne(e: BeaconEndpoint): Promise<void> {
    e.probing = true;
    const t0 = performance.now();
    try {
      const res = await getJson(e, PROBE_ROUTE, syncingResponse, BEACON_TIMEOUT_MS);
      const ms = performance.now() - t0;
      e.latencyMs = e.latencyMs === undefined ? ms : e.latencyMs + LATENCY_EWMA_ALPHA * (ms - e.latencyMs);
      e.headSlot = Number(res.data.head_slot);
      e.syncDistance = Number(res.data.sync_distance);
      if (res.data.is_syncing) {
        this.events.request?.(e.label, "probe", "syncing", ms / 1000, PROBE_ROUTE);
        this.bench(e, "syncing", `syncing: head slot ${e.headSlot}, ${e.syncDistance} slots behind`, true);
      } else {
        this.events.request?.(e.label, "probe", "ok", ms / 1000, PROBE_ROUTE);
        this.markHealthy(e);
      }
    } catch (err) {
      this.failed(e, "probe", PROBE_ROUTE, err, t0);
    } finally {
      e.probing = false;
    }
  }

  /** Healthy nodes in order; when there are none, every node (benched ones too) in the operator's order. */
  private candidates(): BeaconEndpoint[] {
    const healthy = this.ordered();
    return healthy.length > 0 ? healthy : [...this.endpoints];
  }

  private answered(e: BeaconEndpoint, kind: RequestKind, route: string, t0: number): void {
    this.events.request?.(e.label, kind, "ok", (performance.now() - t0) / 1000, route);
    // A request answered is no proof of sync (a syncing node still serves genesis): only the probe brings a
    // benched node back. A node not yet probed is healthy once it answers.
    if (e.health === "unknown") this.markHealthy(e);
  }

  /** Records a failed request against its node and returns it as a typed error; anything else is a bug, rethrown. */
  private failed(
    e: BeaconEndpoint,
    kind: RequestKind,
    route: string,
    err: unknown,
    t0: number,
    bench = true,
  ): BeaconError {
    if (!(err instanceof BeaconError)) throw err;
    const result = classify(err);
    this.events.request?.(e.label, kind, result, (performance.now() - t0) / 1000, route, err);
    if (bench && (result === "unreachable" || result === "syncing" || result === "bad_response"))
      this.bench(e, result, errorMessage(err), kind === "probe");
    return err;
  }

  private markHealthy(e: BeaconEndpoint): void {
    if (e.health === "healthy") return;
    const previous = e.health;
    e.health = "healthy";
    e.reason = undefined;
    e.healthySince = Date.now();
    this.events.health?.(e.status(), previous);
  }

  /**
   * Benches a node, or extends its bench when its probe failed again. A request that fails while the node is
   * already benched (one in flight when the bench began, or a long shot taken because no node is healthy)
   * only updates the last error: counting each would double the bench per concurrent request, so one short
   * outage under a slot's burst of requests benched a single beacon node for 30 s and the node reported
   * itself unsynced long after its beacon node was back.
   */
  private bench(e: BeaconEndpoint, reason: BenchReason, detail: string, probe: boolean): void {
    const now = Date.now();
    if (e.health === "benched" && !probe) {
      e.lastError = detail.slice(0, 300);
      return;
    }
    if (e.health === "healthy" && now - e.healthySince > STABLE_MS) e.failures = e.strikes = 0;
    e.failures++;
    if (reason !== "syncing") e.strikes++;
    // A syncing node answers at once, so probing it costs nothing: it is checked again after the base bench
    // every time and is back as soon as it is synced. A failing one backs off.
    const backoff =
      reason === "syncing" ? this.benchBaseMs : Math.min(BENCH_MAX_MS, this.benchBaseMs * 2 ** (e.strikes - 1));
    e.benchedUntil = now + backoff;
    e.lastError = detail.slice(0, 300);
    const previous = e.health;
    const changed = previous !== "benched" || e.reason !== reason;
    e.health = "benched";
    e.reason = reason;
    if (changed) this.events.health?.(e.status(now), previous);
  }
}
