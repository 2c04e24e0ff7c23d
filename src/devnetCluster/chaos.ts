import type {PayloadFault} from "../devnet/faults.js";
import {badOption} from "./errors.js";

export type ChaosAction = "kill" | "start" | "invalid_head";

/**
 * One scheduled fault: at the first slot of `epoch`, SIGKILL (kill) or start again (start) node `node`; a restart
 * is both, in that order, at the same epoch. `invalid_head` is the beacon node's fault, not a node's (`node` 0):
 * at slot INVALID_HEAD_SLOT_IN_EPOCH of the epoch the devnet makes an invalid block its head, as a client with a
 * consensus bug would, until the slot's votes are cast.
 */
export interface ChaosEvent {
  action: ChaosAction;
  node: number;
  epoch: number;
  /**
   * Part of a rolling restart (`restart-all`), which follows the README's upgrade procedure: a node goes only once
   * every node restarted before it submits duties again; until then its restart moves to the next epoch.
   */
  rolling?: true;
  /** The epoch a rolling restart's event was scheduled for, when it had to wait (`epoch` is when it ran). */
  movedFrom?: number;
  /**
   * `invalid-payload@EPOCH` and `invalid-tx@EPOCH`: the invalid head is consensus-valid and its payload is what is
   * wrong (a wrong execution state root; a transaction that cannot run), as an execution client's bug would make
   * it: only re-executing the payload finds it.
   */
  payload?: PayloadFault;
}

/**
 * The invalid head comes at the epoch's third slot: not its first, whose block is the epoch's target (a vote
 * around it would change the target, which is another test), and not its last, whose block the next epoch's
 * duties depend on (a head event naming it would refetch them), so the fault tests exactly one thing: heads.
 */
export const INVALID_HEAD_SLOT_IN_EPOCH = 2;

/**
 * The default: the devnet makes an invalid block its head in epoch 1 (every node must vote around it), then node
 * 2 dies in epoch 2 and comes back in epoch 4, while 3 of 4 keep the quorum; in epoch 5, with every node back, the
 * head is a block whose payload is invalid, which only the nodes' re-execution finds.
 */
export const DEFAULT_CHAOS = "invalid-head@1,kill:2@2,start:2@4,invalid-payload@5";

/**
 * Parses `kill:2@2,start:2@4` and checks it against the cluster and the run: nodes exist, epochs fall inside
 * the run, and each node alternates kill, start, kill... (a start needs a kill before it).
 */
export function parseChaos(spec: string, nodes: number, epochs: number | undefined): ChaosEvent[] {
  const events: ChaosEvent[] = [];
  for (const raw of expandRestarts(spec, nodes)) {
    const part = raw.replace(/#rolling$/, "");
    const invalid = /^invalid-(head|payload|tx)@(\d+)$/.exec(part);
    if (invalid) {
      const epoch = Number(invalid[2]);
      if (epoch < 1)
        throw badOption("--chaos", `${part}: epoch 0 is the cluster's first; schedule faults from epoch 1`);
      if (epochs !== undefined && epoch >= epochs)
        throw badOption(
          "--chaos",
          `${part}: the run covers epochs 0 to ${epochs - 1}; raise --epochs or move the fault`,
        );
      events.push({
        action: "invalid_head",
        node: 0,
        epoch,
        ...(invalid[1] === "payload" ? {payload: "state_root" as const} : {}),
        ...(invalid[1] === "tx" ? {payload: "failing_tx" as const} : {}),
      });
      continue;
    }
    const m = /^(kill|start):(\d+)@(\d+)$/.exec(part);
    if (!m)
      throw badOption(
        "--chaos",
        `${JSON.stringify(part)} is not ACTION:NODE@EPOCH (ACTION kill, start or restart), restart-all@EPOCH, invalid-head@EPOCH, invalid-payload@EPOCH or invalid-tx@EPOCH, e.g. kill:2@2,start:2@4`,
      );
    const event: ChaosEvent = {action: m[1] as ChaosAction, node: Number(m[2]), epoch: Number(m[3])};
    if (raw !== part) event.rolling = true;
    if (event.node < 1 || event.node > nodes)
      throw badOption("--chaos", `${part}: node ${event.node} does not exist; nodes are 1 to ${nodes}`);
    // A kill at epoch 0 is a node down from genesis (an operator whose machine is off when the cluster starts);
    // nothing can be started or restarted before the cluster's first epoch.
    if (event.epoch < 1 && event.action !== "kill")
      throw badOption(
        "--chaos",
        `${part}: epoch 0 is the cluster's first; schedule starts and restarts from epoch 1 (kill:N@0 is a node down from genesis)`,
      );
    if (epochs !== undefined && event.epoch >= epochs)
      throw badOption("--chaos", `${part}: the run covers epochs 0 to ${epochs - 1}; raise --epochs or move the fault`);
    events.push(event);
  }
  // Stable sort: events of one epoch keep the order they were written in.
  events.sort((a, b) => a.epoch - b.epoch);
  const down = new Set<number>();
  for (const e of events) {
    if (e.action === "invalid_head") continue;
    if (e.action === "kill" && down.has(e.node))
      throw badOption("--chaos", `kill:${e.node}@${e.epoch}: node ${e.node} is already down then`);
    if (e.action === "start" && !down.has(e.node))
      throw badOption("--chaos", `start:${e.node}@${e.epoch}: node ${e.node} is running then; kill it first`);
    if (e.action === "kill") down.add(e.node);
    else down.delete(e.node);
  }
  return events;
}

/**
 * `restart:N@E` is a kill and a start of node N at once (an upgrade's restart, or a crash a supervisor restarts);
 * `restart-all@E` restarts node 1 at epoch E, node 2 at E+1, and so on: a rolling upgrade, each node given an
 * epoch to rejoin before the next goes, and more when it needs it (its parts are marked `#rolling`).
 */
function expandRestarts(spec: string, nodes: number): string[] {
  return spec
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)
    .flatMap((part) => {
      const all = /^restart-all@(\d+)$/.exec(part);
      if (all)
        return Array.from({length: nodes}, (_, k) => [
          `kill:${k + 1}@${Number(all[1]) + k}#rolling`,
          `start:${k + 1}@${Number(all[1]) + k}#rolling`,
        ]).flat();
      const one = /^restart:(\d+)@(\d+)$/.exec(part);
      return one ? [`kill:${one[1]}@${one[2]}`, `start:${one[1]}@${one[2]}`] : [part];
    });
}

/** Nodes down after every event up to and including `epoch` has run. */
export function downAfter(events: ChaosEvent[], epoch: number): Set<number> {
  const down = new Set<number>();
  for (const e of events) {
    if (e.epoch > epoch) break;
    if (e.action === "kill") down.add(e.node);
    else if (e.action === "start") down.delete(e.node);
  }
  return down;
}
