import {mkdir, mkdtemp, rm, stat, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {setTimeout as sleep} from "node:timers/promises";
import type {Logger} from "../util/logger.js";
import {errorMessage} from "../util/errors.js";
import {fetchEffectiveness, fetchInvalidHeads, injectInvalidHead, startBeacon} from "./beacon.js";
import {type ChaosEvent, INVALID_HEAD_SLOT_IN_EPOCH} from "./chaos.js";
import {type DevnetCluster, type DevnetNode, createDevnetCluster, runArgs} from "./cluster.js";
import {DevnetRunError} from "./errors.js";
import {DelayedLink} from "./linkDelay.js";
import {LiveView} from "./liveView.js";
import {KEYS_LOADED_LINE, waitForLogLine} from "./logWatch.js";
import {deprioritizeWhileStarting} from "./priority.js";
import {DutyLog, type SlotSample, sampleFinality, sampleNode} from "./observer.js";
import {type VerdictRecord, pullVerdicts} from "./verification.js";
import {type ViewRecord, pullViews} from "./blockViews.js";
import {type DevnetRunOptions, SLOTS_PER_EPOCH} from "./options.js";
import {type Child, Supervisor} from "./processes.js";
import {type EffectivenessAnswer, type FaultRecord, type Report, type RunFacts, buildReport} from "./report.js";
import {renderHtml} from "./reportHtml.js";
import {readyWhen, renderMarkdown} from "./reportMarkdown.js";
import {auditSlashing} from "./slashingAudit.js";

/**
 * Where in a slot the cluster is sampled, as a share of the slot: after the attestation's due time (1/3 slot)
 * and the round of consensus and signing after it (about 300 ms here), before the next slot's proposal.
 */
const SAMPLE_AT_SLOT_SHARE = 0.75;
/**
 * A node's duty results that arrive between two samples: about 80 per slot with 64 validators (8 attester and
 * 8 aggregator results, ~30 sync messages, ~30 sync contribution results, mostly not_selected); 500 covers a
 * poll that lags by several slots.
 */
const LIVE_TAIL = 500;
/** The most a node's series answers at once; a run of 8 epochs records about 5,000 duty results per node. */
const FINAL_TAIL = 10_000;
/**
 * After the run's last slot, wait a slot and this long before reading effectiveness: the last slot's
 * attestations are included by the next slot's block, produced at its start and imported a few hundred ms later.
 */
const INCLUSION_MARGIN_MS = 1000;

/**
 * Loading 64 shares takes a node a few seconds; a minute and a half means it is stuck or this machine is far too
 * busy. Each share adds its decryption and checks: 2,500 took a node about a minute with three others loading beside
 * it on two cores, so 20 ms more a share.
 */
const keysTimeoutMs = (validators: number) => 90_000 + 20 * validators;

export interface RunIo {
  out: NodeJS.WriteStream;
  signal: AbortSignal;
  logger: Logger;
}

export interface RunResult {
  report: Report;
  markdown: string;
}

/** `r3dv devnet`: a cluster on the embedded devnet, with chaos, watched every slot and judged by the chain. */
export async function runDevnet(o: DevnetRunOptions, io: RunIo): Promise<RunResult | undefined> {
  await mkdir(join(o.out, "logs"), {recursive: true});
  await mkdir(join(o.out, "slashing-protection"), {recursive: true});
  const work = await mkdtemp(join(tmpdir(), "r3dv-devnet-"));
  const sup = new Supervisor(join(o.out, "processes.json"));
  const killNow = () => sup.killAllNow();
  process.once("exit", killNow);
  const view = new LiveView(io.out);
  const links: DelayedLink[] = [];
  try {
    return await orchestrate(o, io, sup, view, work, links);
  } finally {
    await sup.stopAll();
    await Promise.all(links.map((l) => l.stop()));
    process.off("exit", killNow);
    if (o.keep) view.note(`kept the cluster and the nodes' data in ${work}`);
    else await rm(work, {recursive: true, force: true});
  }
}

async function orchestrate(
  o: DevnetRunOptions,
  io: RunIo,
  sup: Supervisor,
  view: LiveView,
  work: string,
  links: DelayedLink[],
): Promise<RunResult | undefined> {
  const startedAt = Date.now();
  const {slotMs} = o;
  const inclusionTailMs = slotMs + INCLUSION_MARGIN_MS;
  const sampleOffsetMs = Math.round(slotMs * SAMPLE_AT_SLOT_SHARE);
  const logs = join(o.out, "logs");
  view.note(
    `r3dv devnet: ${o.nodes} nodes, threshold ${o.threshold}, ${o.validators} validators, ${o.epochs === undefined ? "until Ctrl-C" : `${o.epochs} epochs`}; logs in ${logs}`,
  );
  view.note(`creating the cluster (${o.validators} validators split ${o.threshold}-of-${o.nodes})`);
  const cluster = await createDevnetCluster({
    work,
    logs,
    nodes: o.nodes,
    threshold: o.threshold,
    validators: o.validators,
    proxied: o.latency !== undefined,
  });
  if (o.latency) {
    for (const n of cluster.nodes) {
      const link = new DelayedLink(o.latency, n.p2pPort, n.listenPort as number);
      links.push(link);
      await link.start();
    }
    view.note(
      `every connection between nodes goes through a delay proxy: ${o.latency.rttMs} ms round trips ± ${o.latency.jitterMs / 2} ms each way`,
    );
  }
  const running = new Map<number, Child>();
  const startNode = async (n: DevnetNode): Promise<{child: Child; from: number}> => {
    const from = await stat(n.log).then(
      (st) => st.size,
      () => 0,
    );
    const child = await sup.start(`node-${n.index}`, runArgs(cluster, n, o), n.log);
    running.set(n.index, child);
    return {child, from};
  };
  // The nodes start before the beacon node: deriving every share's key takes them seconds of CPU, and genesis
  // is then set a fixed time after they are done, however slow this machine is.
  view.note(`starting ${o.nodes} r3dv run processes; each decrypts its ${o.validators} key shares`);
  const started: {child: Child; from: number}[] = [];
  for (const n of cluster.nodes) started.push(await startNode(n));
  const loaded = await Promise.all(
    cluster.nodes.map((n, k) =>
      waitForLogLine(
        n.log,
        (started[k] as {from: number}).from,
        KEYS_LOADED_LINE,
        (started[k] as {child: Child}).child,
        Date.now() + keysTimeoutMs(o.validators),
        io.signal,
      ),
    ),
  );
  if (io.signal.aborted) return undefined;
  const stuck = cluster.nodes.filter((_, k) => !loaded[k]).map((n) => n.index);
  if (stuck.length) {
    throw new DevnetRunError(
      {code: "DEVNET_RUN_START_FAILED", process: `node ${stuck.join(", ")}`, reason: "keys not loaded"},
      `node(s) ${stuck.join(", ")} did not load their key shares within ${keysTimeoutMs(o.validators) / 1000} s; see ${logs}`,
    );
  }
  const beacon = await startBeacon(sup, {
    validators: o.validators,
    slotMs,
    genesisDelaySec: o.genesisDelaySec,
    builder: o.builder,
    port: cluster.beaconPort,
    dir: join(work, "beacon"),
    log: join(logs, "devnet-beacon.log"),
  });
  view.note(`devnet beacon node on ${beacon.url}, genesis in ${Math.round(beacon.genesisTime - Date.now() / 1000)} s`);
  const genesisMs = beacon.genesisTime * 1000;
  const faults: FaultRecord[] = [];
  const chaosKilled = new Set<Child>();
  /** SIGKILLs a kill event's node and records it: its pid, or the error that stopped the kill. */
  const killNode = async (e: ChaosEvent, slot: number): Promise<FaultRecord> => {
    const child = running.get(e.node) as Child;
    const record: FaultRecord = {event: e, slot, at: Date.now(), pid: child.pid};
    chaosKilled.add(child);
    await sup.kill(child).catch((err: unknown) => (record.error = errorMessage(err)));
    faults.push(record);
    return record;
  };
  // Nodes down from genesis (kill:N@0) go before the chain starts, as operators' machines that are off: the
  // others never run a duty beside them, and readiness is awaited of the others only.
  const fromGenesis = o.chaos.filter((e) => e.epoch === 0 && e.action === "kill");
  for (const e of fromGenesis) {
    const record = await killNode(e, 0);
    view.note(
      `before genesis: SIGKILL node ${e.node} (pid ${record.pid ?? "?"}), down from genesis${record.error ? `: ${record.error}` : ""}`,
    );
  }
  const awaited = cluster.nodes.filter((n) => !fromGenesis.some((e) => e.node === n.index));
  const readyAt = await waitReady(awaited, genesisMs + slotMs * SLOTS_PER_EPOCH, io.signal);
  view.note(
    readyAt
      ? `every node ready ${readyWhen(readyAt - genesisMs)}`
      : "not every node was ready by the end of epoch 0; running anyway",
  );

  const totalSlots = o.epochs === undefined ? undefined : o.epochs * SLOTS_PER_EPOCH;
  const samples: SlotSample[] = [];
  const crashes: RunFacts["crashes"] = [];
  const duties = new DutyLog();
  let slot = 0;
  for (; totalSlots === undefined || slot < totalSlots; slot++) {
    if (!(await until(genesisMs + slot * slotMs, io.signal))) break;
    if (slot % SLOTS_PER_EPOCH === 0) {
      for (const e of o.chaos.filter((c) => c.epoch * SLOTS_PER_EPOCH === slot && !fromGenesis.includes(c))) {
        const behind = e.rolling ? notRejoined(faults, duties) : [];
        if (behind.length > 0) {
          e.movedFrom ??= e.epoch;
          e.epoch += 1;
          view.note(
            `slot ${slot}: ${e.action === "kill" ? "restarting" : "starting"} node ${e.node} moves to epoch ${e.epoch}: node(s) ${behind.join(", ")} submitted nothing since their restart (a rolling restart waits for them)`,
          );
          continue;
        }
        if (e.action === "invalid_head") {
          const record: FaultRecord = {event: e, slot: slot + INVALID_HEAD_SLOT_IN_EPOCH, at: Date.now()};
          await injectInvalidHead(beacon.url, record.slot, e.payload).catch(
            (err: unknown) => (record.error = errorMessage(err)),
          );
          faults.push(record);
          view.note(
            `slot ${slot}: the devnet will make ${e.payload ? "a block with an invalid payload" : "an invalid block"} its head at slot ${record.slot}${record.error ? `: ${record.error}` : ""}`,
          );
          continue;
        }
        const node = cluster.nodes[e.node - 1] as DevnetNode;
        let record: FaultRecord;
        if (e.action === "kill") record = await killNode(e, slot);
        else {
          const started: FaultRecord = {event: e, slot, at: Date.now()};
          try {
            const {child, from} = await startNode(node);
            started.pid = child.pid;
            started.note = "deprioritized until its duties start";
            void deprioritizeWhileStarting(child, node.log, from, io.signal, keysTimeoutMs(o.validators)).then(
              (note) => (started.note = note),
            );
          } catch (err) {
            started.error = errorMessage(err);
          }
          faults.push(started);
          record = started;
        }
        view.note(
          `slot ${slot}: ${e.action === "kill" ? "SIGKILL" : "started"} node ${e.node} (pid ${record.pid ?? "?"})${record.error ? `: ${record.error}` : ""}`,
        );
      }
    }
    for (const [index, child] of running) {
      if (!child.alive() && !chaosKilled.has(child) && !crashes.some((c) => c.node === index)) {
        crashes.push({node: index, slot, exit: String(await child.exited)});
        view.note(
          `slot ${slot}: node ${index} exited on its own (${await child.exited}); see ${cluster.nodes[index - 1]?.log}`,
        );
      }
    }
    if (!(await until(genesisMs + slot * slotMs + sampleOffsetMs, io.signal))) break;
    const sample = await takeSample(cluster, running, beacon.url, slot);
    samples.push(sample);
    const fresh = (
      await Promise.all(
        cluster.nodes
          .filter((n) => sample.nodes[n.index - 1]?.up)
          .map((n) => duties.pull(n, LIVE_TAIL).catch(() => [])),
      )
    ).flat();
    const secondsLeft =
      totalSlots === undefined ? undefined : (genesisMs + totalSlots * slotMs + inclusionTailMs - Date.now()) / 1000;
    view.show({
      sample,
      fresh,
      epoch: Math.floor(slot / SLOTS_PER_EPOCH),
      totalSlots,
      secondsLeft,
      threshold: o.threshold,
    });
  }
  const epochs = Math.floor(slot / SLOTS_PER_EPOCH);
  if (io.signal.aborted) view.note(`interrupted at slot ${slot}: ${epochs} whole epoch(s) ran; stopping every process`);
  if (epochs === 0) return undefined;
  if (!io.signal.aborted) await until(genesisMs + slot * slotMs + inclusionTailMs, io.signal);
  const effectiveness = await fetchEffectiveness<EffectivenessAnswer>(beacon.url, 0, epochs - 1);
  const invalidHeads = await fetchInvalidHeads(beacon.url);
  const verdicts: VerdictRecord[] = [];
  const verdictsFrom: number[] = [];
  const views: ViewRecord[] = [];
  for (const n of cluster.nodes)
    if (running.get(n.index)?.alive()) {
      verdictsFrom.push(n.index);
      await duties
        .pull(n, FINAL_TAIL)
        .catch((e: unknown) => io.logger.warn("could not read a node's duty results", {node: n.index}, e));
      verdicts.push(
        ...(await pullVerdicts(n, FINAL_TAIL).catch((e: unknown) => {
          io.logger.warn("could not read a node's block verdicts", {node: n.index}, e);
          return [];
        })),
      );
      views.push(
        ...(await pullViews(n, FINAL_TAIL).catch((e: unknown) => {
          io.logger.warn("could not read a node's block views", {node: n.index}, e);
          return [];
        })),
      );
    }
  // The DBs are read once their nodes have stopped: complete, and no writer left.
  await sup.stopAll();
  const slashing = await auditSlashing(cluster.nodes, o.threshold, join(o.out, "slashing-protection"));
  const facts: RunFacts = {
    nodes: o.nodes,
    threshold: o.threshold,
    validators: o.validators,
    epochs,
    slotMs,
    slotsPerEpoch: SLOTS_PER_EPOCH,
    genesisTime: beacon.genesisTime,
    startedAt,
    readyAt,
    endedAt: Date.now(),
    effectiveness,
    samples,
    duties: duties.all(),
    faults,
    crashes,
    slashing,
    verdicts,
    verdictsFrom,
    invalidHeads,
    views,
    verify: o.verify,
    ...(o.latency ? {latency: o.latency} : {}),
  };
  const report = buildReport(facts);
  const markdown = renderMarkdown(report);
  await writeFile(join(o.out, "report.md"), markdown);
  await writeFile(join(o.out, "report.html"), renderHtml(report));
  await writeFile(
    join(o.out, "report.json"),
    JSON.stringify(
      {
        passed: report.passed,
        targets: report.targets,
        epochsWithoutQuorum: report.epochsWithoutQuorum,
        epochs: report.epochs,
        failures: report.failures,
        faults: report.faults,
        invalidHeads: report.invalidHeads,
        sharing: report.sharing,
        latency: report.latency,
        peerRtt: report.peerRtt,
      },
      null,
      2,
    ) + "\n",
  );
  return {report, markdown};
}

/**
 * Nodes started by the chaos schedule that have submitted no duty since: a rolling restart takes the next node
 * down only once this is empty, as the README's upgrade procedure says.
 */
function notRejoined(faults: FaultRecord[], duties: DutyLog): number[] {
  const all = duties.all();
  const latestStart = new Map<number, FaultRecord>();
  for (const r of faults) if (r.event.action === "start" && !r.error) latestStart.set(r.event.node, r);
  return [...latestStart.values()]
    .filter((r) => !all.some((d) => d.node === r.event.node && d.slot >= r.slot && d.status === "submitted"))
    .map((r) => r.event.node);
}

/** Sleeps until `atMs`; false if the run was interrupted first. */
async function until(atMs: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  const wait = atMs - Date.now();
  if (wait > 0) await sleep(wait, undefined, {signal}).catch(() => undefined);
  return !signal.aborted;
}

async function waitReady(nodes: DevnetNode[], deadlineMs: number, signal: AbortSignal): Promise<number | undefined> {
  const ready = new Set<number>();
  while (Date.now() < deadlineMs && !signal.aborted) {
    await Promise.all(
      nodes.map(async (n) => {
        if (ready.has(n.index)) return;
        const ok = await fetch(`${n.httpUrl}/readyz`, {signal: AbortSignal.timeout(1000)}).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) ready.add(n.index);
      }),
    );
    if (ready.size === nodes.length) return Date.now();
    await sleep(250);
  }
  return undefined;
}

async function takeSample(
  cluster: DevnetCluster,
  running: Map<number, Child>,
  beaconUrl: string,
  slot: number,
): Promise<SlotSample> {
  const [nodes, finality] = await Promise.all([
    Promise.all(cluster.nodes.map((n) => sampleNode(n, running.get(n.index)?.alive() ?? false))),
    sampleFinality(beaconUrl),
  ]);
  return {slot, t: Date.now(), nodes, ...(finality ?? {})};
}
