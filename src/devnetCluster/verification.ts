import {ipcRequest} from "../api/ipc.js";
import type {DevnetNode} from "./cluster.js";
import type {SeriesAnswer} from "./observer.js";
import {quantile} from "./quantile.js";

/** A `block_verdict` series entry as a node recorded it: its EVM role's verdict on one block. */
export interface VerdictRecord {
  node: number;
  status: "verified" | "invalid" | "unavailable";
  root: string;
  slot?: number;
  reason?: string;
  /** ms the state transition thread spent on the block (verified and invalid blocks), execution included. */
  totalMs?: number;
  /** A verified block whose payload was re-executed too, and the ms that took. */
  executed?: boolean;
  executionMs?: number;
}

/** One node's verdicts over the run: what its EVM role made of the devnet's blocks, and what it cost. */
export interface VerificationLine {
  node: number;
  verified: number;
  /** Of the verified blocks, those whose payload was re-executed (`--execution-rpc`). */
  executed: number;
  invalid: number;
  unavailable: number;
  /** Slots of the blocks judged invalid (the devnet's chain is valid: each one is a defect to look at). */
  invalidSlots: number[];
  /** Their roots, to tell the devnet's injected invalid heads from defects. */
  invalidRoots: string[];
  p50Ms: number;
  p99Ms: number;
  /** The payload re-execution's share of that time. */
  executionP50Ms: number;
  executionP99Ms: number;
}

/** Every block verdict a node's series holds (its whole run, restarts included: the series outlives them). */
export async function pullVerdicts(n: DevnetNode, tail: number): Promise<VerdictRecord[]> {
  const answer = await ipcRequest<SeriesAnswer>(n.ipc, "series", {tail, kind: "block_verdict"}, 5000);
  return answer.entries.flatMap((e) => {
    const b = e.body;
    if (e.type !== "block_verdict" || !b) return [];
    const status = String(b.status);
    if (status !== "verified" && status !== "invalid" && status !== "unavailable") return [];
    const timings = b.timings as {totalMs?: unknown; executionMs?: unknown} | undefined;
    return [
      {
        node: n.index,
        status,
        root: String(b.root),
        ...(typeof b.slot === "number" ? {slot: b.slot} : {}),
        ...(typeof b.reason === "string" ? {reason: b.reason} : {}),
        ...(typeof timings?.totalMs === "number" ? {totalMs: timings.totalMs} : {}),
        ...(b.executed === true ? {executed: true} : {}),
        ...(typeof timings?.executionMs === "number" ? {executionMs: timings.executionMs} : {}),
      },
    ];
  });
}

/**
 * Per node of `nodes`, its newest verdict on each block (a block first unavailable, then verified, counts as
 * verified), and the time its verified blocks took.
 */
export function verificationLines(nodes: number[], verdicts: VerdictRecord[]): VerificationLine[] {
  return nodes.map((node) => {
    const newest = new Map<string, VerdictRecord>();
    for (const v of verdicts) if (v.node === node) newest.set(v.root, v);
    const all = [...newest.values()];
    const ms = all
      .filter((v) => v.status === "verified" && v.totalMs !== undefined)
      .map((v) => v.totalMs as number)
      .sort((a, b) => a - b);
    const exMs = all
      .filter((v) => v.status === "verified" && v.executionMs !== undefined)
      .map((v) => v.executionMs as number)
      .sort((a, b) => a - b);
    return {
      node,
      verified: all.filter((v) => v.status === "verified").length,
      executed: all.filter((v) => v.status === "verified" && v.executed).length,
      invalid: all.filter((v) => v.status === "invalid").length,
      unavailable: all.filter((v) => v.status === "unavailable").length,
      invalidSlots: all.filter((v) => v.status === "invalid").map((v) => v.slot ?? -1),
      invalidRoots: all.filter((v) => v.status === "invalid").map((v) => v.root.toLowerCase()),
      p50Ms: quantile(ms, 0.5),
      p99Ms: quantile(ms, 0.99),
      executionP50Ms: quantile(exMs, 0.5),
      executionP99Ms: quantile(exMs, 0.99),
    };
  });
}
