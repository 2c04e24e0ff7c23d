import {readFile} from "node:fs/promises";
import {join} from "node:path";
import {type PayloadFault, invalidHeadKind} from "../devnet/faults.js";
import {DevnetRunError} from "./errors.js";
import type {Child, Supervisor} from "./processes.js";

export interface DevnetBeacon {
  child: Child;
  url: string;
  genesisTime: number;
}

/** The devnet beacon node needs a second or two to build its genesis state; more than this means it is stuck. */
const BEACON_START_TIMEOUT_MS = 60_000;

/**
 * Starts `r3dv devnet-beacon` on a free port, signing nothing itself (`--own none`: the cluster is every
 * validator), and waits for the genesis.json it writes once it listens.
 */
export async function startBeacon(
  sup: Supervisor,
  o: {
    validators: number;
    slotMs: number;
    genesisDelaySec: number;
    builder: boolean;
    port: number;
    dir: string;
    log: string;
  },
): Promise<DevnetBeacon> {
  const args = [
    "devnet-beacon",
    "--validators",
    String(o.validators),
    "--own",
    "none",
    "--port",
    String(o.port),
    "--slot-ms",
    String(o.slotMs),
    "--genesis-delay",
    String(o.genesisDelaySec),
    "--data-dir",
    o.dir,
    "--log-level",
    "warn",
    ...(o.builder ? ["--builder"] : []),
  ];
  const child = await sup.start("devnet-beacon", args, o.log);
  const end = Date.now() + BEACON_START_TIMEOUT_MS;
  for (;;) {
    const info = await readFile(join(o.dir, "genesis.json"), "utf8").then(
      (t) => JSON.parse(t) as {url: string; genesis_time: number},
      () => undefined,
    );
    if (info) return {child, url: info.url, genesisTime: info.genesis_time};
    if (!child.alive() || Date.now() > end) {
      const log = await readFile(o.log, "utf8").catch(() => "");
      const reason = child.alive()
        ? `no genesis.json after ${BEACON_START_TIMEOUT_MS} ms`
        : `exited (${await child.exited})`;
      throw new DevnetRunError(
        {code: "DEVNET_RUN_START_FAILED", process: "devnet-beacon", reason},
        `the devnet beacon node did not start: ${reason}; its log ${o.log} ends: ${log.slice(-500)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function fetchEffectiveness<T>(url: string, fromEpoch: number, toEpoch: number): Promise<T> {
  const res = await fetch(`${url}/r3dv/v1/effectiveness?from_epoch=${fromEpoch}&to_epoch=${toEpoch}`, {
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok)
    throw new DevnetRunError(
      {code: "DEVNET_RUN_BEACON_FAILED", request: "effectiveness", reason: `HTTP ${res.status}`},
      `the devnet beacon node answered ${res.status} for effectiveness: ${await res.text()}`,
    );
  return ((await res.json()) as {data: T}).data;
}

/**
 * Asks the devnet to make an invalid block its head at `slot` (the invalid_head fault, src/devnet/faults.ts; or,
 * with `payload`, a consensus-valid block with an invalid payload: invalid_payload_head, invalid_tx_head).
 */
export async function injectInvalidHead(url: string, slot: number, payload?: PayloadFault): Promise<void> {
  const kind = invalidHeadKind(payload);
  const res = await fetch(`${url}/r3dv/v1/faults`, {
    method: "POST",
    headers: {"content-type": "application/json"},
    body: JSON.stringify({kind, slot}),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok)
    throw new DevnetRunError(
      {code: "DEVNET_RUN_BEACON_FAILED", request: "faults", reason: `HTTP ${res.status}`},
      `the devnet beacon node refused the ${kind} fault at slot ${slot}: ${await res.text()}`,
    );
}

/** An invalid block the devnet made its head, and every signature made over it (`/r3dv/v1/invalid_heads`). */
export interface InvalidHeadAnswer {
  slot: number;
  root: string;
  attesters: number[];
  syncMembers: number[];
  childSlots: number[];
}

export async function fetchInvalidHeads(url: string): Promise<InvalidHeadAnswer[]> {
  const res = await fetch(`${url}/r3dv/v1/invalid_heads`, {signal: AbortSignal.timeout(10_000)});
  if (!res.ok)
    throw new DevnetRunError(
      {code: "DEVNET_RUN_BEACON_FAILED", request: "invalid_heads", reason: `HTTP ${res.status}`},
      `the devnet beacon node answered ${res.status} for invalid_heads: ${await res.text()}`,
    );
  return ((await res.json()) as {data: InvalidHeadAnswer[]}).data;
}
