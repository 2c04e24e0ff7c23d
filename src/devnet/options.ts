import {DevnetError} from "./errors.js";
import type {DevnetFork} from "./config.js";

export interface DevnetCliFlags {
  validators: string;
  own: string;
  port: string;
  slotMs: string;
  fork: string;
  genesisDelay: string;
  builder?: boolean;
  deposits?: string;
}

export interface DevnetParsedOptions {
  validators: number;
  own: Set<number>;
  port: number;
  slotMs: number;
  fork: DevnetFork;
  genesisDelaySec: number;
  /** A block builder behind the beacon node (builder.ts): builders' blocks for registered validators. */
  builder: boolean;
  /** A deposit-data.json whose validators join at genesis after the interop ones (extraDeposits.ts). */
  deposits?: string;
}

/**
 * Shortest slot: the execution timestamp is whole seconds (genesis_time + slot * SLOT_DURATION_MS / 1000 must be an
 * integer), and 1 s leaves room for production + import (tens of ms at 64 validators, see the bench) plus duties.
 */
export const MIN_SLOT_MS = 1000;
/** Most validators: genesis signs one deposit per validator and every epoch walks them all; 4096 keeps start-up in seconds. */
export const MAX_VALIDATORS = 4096;

function bad(option: string, reason: string): never {
  throw new DevnetError({code: "DEVNET_BAD_OPTION", option, reason}, `${option}: ${reason}`);
}

function int(option: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    bad(option, `expected a whole number, got ${JSON.stringify(value)}`);
  if (n < min || n > max) bad(option, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function parseOwn(value: string, validators: number): Set<number> {
  if (value === "none" || value === "") return new Set();
  const own = new Set<number>();
  for (const part of value.split(",")) {
    const m = /^(\d+)(?:\.\.(\d+))?$/.exec(part.trim());
    if (!m) bad("--own", `expected a..b, a single index, a comma list of those, or none; got ${JSON.stringify(part)}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) bad("--own", `range ${part} is reversed; write ${b}..${a}`);
    if (b >= validators)
      bad(
        "--own",
        `validator ${b} is outside the genesis validators 0..${validators - 1}; raise --validators or lower the range`,
      );
    for (let i = a; i <= b; i++) own.add(i);
  }
  return own;
}

export function parseDevnetOptions(f: DevnetCliFlags): DevnetParsedOptions {
  const validators = int("--validators", f.validators, 1, MAX_VALIDATORS);
  const slotMs = int("--slot-ms", f.slotMs, 0, 3_600_000);
  if (slotMs < MIN_SLOT_MS)
    bad(
      "--slot-ms",
      `${slotMs} ms is too short: producing and importing a block with its duties needs at least ${MIN_SLOT_MS} ms`,
    );
  if (slotMs % 1000 !== 0)
    bad(
      "--slot-ms",
      `${slotMs} is not a multiple of 1000: execution timestamps are whole seconds, so slots must be whole seconds too`,
    );
  if (f.fork !== "electra" && f.fork !== "fulu") bad("--fork", `expected electra or fulu, got ${f.fork}`);
  return {
    validators,
    own: parseOwn(f.own, validators),
    port: int("--port", f.port, 0, 65535),
    slotMs,
    fork: f.fork,
    genesisDelaySec: int("--genesis-delay", f.genesisDelay, 0, 86_400),
    builder: Boolean(f.builder),
    ...(f.deposits === undefined ? {} : {deposits: f.deposits}),
  };
}
