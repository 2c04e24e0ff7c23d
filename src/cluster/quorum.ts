import {R3dvError} from "../util/errors.js";

/** Fewer than 3 nodes cannot tolerate any fault while keeping an honest majority in every quorum. */
export const MIN_NODES = 3;

/** The threshold that keeps the cluster safe with up to n - m faulty nodes (DESIGN.md, safety): ceil(2n/3). */
export function defaultThreshold(nodes: number): number {
  return Math.ceil((2 * nodes) / 3);
}

export type QuorumErrorType =
  | {code: "QUORUM_TOO_FEW_NODES"; nodes: number; min: number}
  | {code: "QUORUM_THRESHOLD_ABOVE_NODES"; threshold: number; nodes: number}
  | {code: "QUORUM_THRESHOLD_NO_MAJORITY"; threshold: number; nodes: number};

export class QuorumError extends R3dvError<QuorumErrorType> {}

/**
 * Refuses cluster sizes that cannot be safe. Returns a warning (not an error) for a threshold between a
 * majority and ceil(2n/3): such a cluster is safe only while fewer than 2m - n nodes are byzantine.
 */
export function checkQuorum(nodes: number, threshold: number): {warning?: string} {
  if (!Number.isInteger(nodes) || nodes < MIN_NODES) {
    throw new QuorumError(
      {code: "QUORUM_TOO_FEW_NODES", nodes, min: MIN_NODES},
      `a cluster needs at least ${MIN_NODES} nodes, got ${nodes}`,
    );
  }
  if (!Number.isInteger(threshold) || threshold > nodes) {
    throw new QuorumError(
      {code: "QUORUM_THRESHOLD_ABOVE_NODES", threshold, nodes},
      `threshold ${threshold} is more than the ${nodes} nodes: no quorum could ever sign; use at most ${nodes}`,
    );
  }
  if (threshold * 2 <= nodes) {
    throw new QuorumError(
      {code: "QUORUM_THRESHOLD_NO_MAJORITY", threshold, nodes},
      `threshold ${threshold} of ${nodes} is not a majority: two disjoint groups of ${threshold} could sign conflicting messages ` +
        `and get the validator slashed; use at least ${Math.floor(nodes / 2) + 1} (recommended ${defaultThreshold(nodes)})`,
    );
  }
  if (threshold < defaultThreshold(nodes)) {
    return {
      warning:
        `threshold ${threshold} of ${nodes} is below the recommended ${defaultThreshold(nodes)} (ceil(2n/3)): ` +
        `the cluster stays safe only while fewer than ${2 * threshold - nodes} nodes are malicious`,
    };
  }
  return {};
}
