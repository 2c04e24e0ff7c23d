/** Byzantine nodes tolerated among n: the largest f with n >= 3f + 1. */
export function faultTolerance(n: number): number {
  return Math.floor((n - 1) / 3);
}

/** QBFT quorum: any two quorums intersect in at least f + 1 nodes, so in at least one honest node. */
export function qbftQuorum(n: number): number {
  return Math.ceil((n + faultTolerance(n) + 1) / 2);
}

/** DESIGN.md: leader of (slot, duty, round) is (slot + duty + round) mod n, as a 1-based operator index. */
export function qbftLeader(slot: number, dutyIndex: number, round: number, n: number): number {
  return ((slot + dutyIndex + round) % n) + 1;
}
