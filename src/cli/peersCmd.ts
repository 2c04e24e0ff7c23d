import type {Command} from "commander";
import {ipcRequest} from "../api/ipc.js";
import type {PeerStatus} from "../node/status.js";
import {socketPath, withIpcOptions} from "./ipcOptions.js";

export function formatPeers(peers: PeerStatus[]): string {
  const rows = peers.map((p) =>
    [
      String(p.operator),
      p.connected ? "connected" : "down",
      p.rttMs === undefined ? "-" : `${p.rttMs.toFixed(1)}ms`,
      p.clockOffsetMs === undefined ? "-" : `${p.clockOffsetMs.toFixed(1)}ms`,
      String(p.accepted),
      String(p.refused),
      p.address,
      p.peerId,
    ].join("\t"),
  );
  return ["operator\tstate\trtt\toffset\taccepted\trefused\taddress\tpeer_id", ...rows].join("\n");
}

export function registerPeers(program: Command): void {
  withIpcOptions(
    program.command("peers").summary("a running node's cluster peers: connection, RTT, clock offset, chunks"),
  ).action(async (flags: {ipc?: string; dataDir?: string; json?: boolean}) => {
    const peers = await ipcRequest<PeerStatus[]>(socketPath(flags), "peers");
    console.log(flags.json ? JSON.stringify(peers, null, 2) : formatPeers(peers));
  });
}
