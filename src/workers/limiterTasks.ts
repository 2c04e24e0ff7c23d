import type {ChainReport} from "../storage/chainVerify.js";

export type LimiterTask = {kind: "verifyChain"; dir: string} | {kind: "window"; dir: string; entries: number};

/** Limiter inputs over a long window of the series: who pushed what, and what each limiter refused. */
export interface WindowReport {
  entries: number;
  fromSeq: number;
  toSeq: number;
  /** Per sending peer: accepted, refused (any limiter) and rate-limited chunks. */
  byPeer: Record<string, {accepted: number; refused: number; rateLimited: number}>;
  refusedByLimiter: Record<string, number>;
  acceptedByKind: Record<string, number>;
  /** Accepted `eth_block` chunks per origin over the window: the W-tracking input over time. */
  ethBlocksByOrigin: Record<string, number>;
}

export type LimiterTaskResult = ChainReport | WindowReport;
