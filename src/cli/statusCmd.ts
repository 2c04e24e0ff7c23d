import type {Command} from "commander";
import {ipcRequest} from "../api/ipc.js";
import type {NodeStatus} from "../node/status.js";
import type {BeaconEndpointStatus} from "../roles/validator/beacon/beaconEndpoint.js";
import {socketPath, withIpcOptions} from "./ipcOptions.js";
import {formatPeers} from "./peersCmd.js";

export function registerStatus(program: Command): void {
  withIpcOptions(
    program.command("status").summary("a running node's readiness, peers, series size and limiter counters"),
  ).action(async (flags: {ipc?: string; dataDir?: string; json?: boolean}) => {
    const s = await ipcRequest<NodeStatus>(socketPath(flags), "status");
    if (flags.json) {
      console.log(JSON.stringify(s, null, 2));
      return;
    }
    console.log(
      `cluster ${s.cluster.name} (${s.cluster.lockHash.slice(0, 18)}…) operator ${s.node.operator}/${s.cluster.operators}, threshold ${s.cluster.threshold}`,
    );
    console.log(
      `ready ${s.ready.ready} (peers ${s.ready.peersConnected}/${s.ready.peersNeeded} needed, beacon synced ${s.ready.beaconSynced}), slot ${s.slot ?? "unknown"}`,
    );
    console.log(formatBeacons(s.beacons));
    console.log(
      `series ${s.series.entries} entries, ${s.series.bytes} of ${s.series.budget} bytes, head ${s.series.lastSeq} ${s.series.headHash.slice(0, 18)}…`,
    );
    console.log(
      `limiters received ${s.limiters.received}, accepted ${JSON.stringify(s.limiters.accepted)}, refused ${JSON.stringify(s.limiters.refused)}, queue ${s.limiters.queueDepth}`,
    );
    console.log(formatPeers(s.peers));
    console.log(formatDoppelganger(s.doppelganger));
    console.log(formatVerification(s.verification, s.slot));
  });
}

/** Where the EVM role's verification stands: off, not started yet, or its newest verdicts against the slot. */
export function formatVerification(v: NodeStatus["verification"], slot: number | undefined): string {
  const peers = Object.entries(v.peers ?? {});
  if (peers.length === 0) return ownVerification(v, slot);
  const views = peers.map(
    ([o, p]) =>
      `operator ${o}: ${p.valid} valid, ${p.invalid} invalid, ${p.unverified} unverified to slot ${p.lastSlot}`,
  );
  return `${ownVerification(v, slot)}\n  peers' block views: ${views.join("; ")}`;
}

function ownVerification(v: NodeStatus["verification"], slot: number | undefined): string {
  if (v.mode === "off")
    return "block verification off (--verify enforce signs only verified heads; advisory only reports)";
  if (v.anchorSlot === undefined) return `block verification ${v.mode}: not started (no anchor state yet)`;
  const c = v.counts ?? {verified: 0, invalid: 0, unavailable: 0};
  const lag =
    v.lastVerifiedSlot === undefined || slot === undefined ? "" : `, ${slot - v.lastVerifiedSlot} slot(s) behind`;
  const last = v.last
    ? `; last ${v.last.status}${v.last.reason ? ` (${v.last.reason})` : ""} at slot ${v.last.slot ?? "?"}`
    : "";
  return (
    `block verification ${v.mode} from slot ${v.anchorSlot}: ${c.verified} verified, ${c.invalid} invalid, ` +
    `${c.unavailable} unverifiable; newest verified slot ${v.lastVerifiedSlot ?? "none"}${lag}${last}`
  );
}

/** A line of counts, then one line per validator not signing (still checked, or live elsewhere) and why. */
export function formatDoppelganger(d: NodeStatus["doppelganger"]): string {
  const c = d.counts;
  const head =
    c.off > 0
      ? `doppelganger protection off for ${c.off} validator(s)`
      : `doppelganger protection: ${c.safe} safe, ${c.checking} checking, ${c.live_elsewhere} live elsewhere`;
  return [head, ...d.notSigning.map((v) => `  validator ${v.index ?? v.pubkey} ${v.state}: ${v.detail}`)].join("\n");
}

/** One line per beacon node: where reads and submissions can go, and why one is benched. */
export function formatBeacons(beacons: BeaconEndpointStatus[]): string {
  return beacons
    .map((b) => {
      const latency = b.latencyMs === undefined ? "latency unknown" : `latency ${b.latencyMs} ms`;
      const head = b.headSlot === undefined ? "" : `, head ${b.headSlot}`;
      const bench =
        b.health === "benched"
          ? ` (${b.reason}, ${b.failures} failures, retry in ${Math.ceil((b.retryInMs ?? 0) / 1000)} s: ${b.lastError ?? ""})`
          : "";
      return `beacon ${b.index} ${b.url} ${b.health}${bench}, ${latency}${head}`;
    })
    .join("\n");
}
