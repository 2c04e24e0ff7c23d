/**
 * Round 1 of consensus lasts an eighth of a slot (1.5 s on mainnet, 250 ms on a 2 s devnet slot), at least
 * 200 ms: long enough for three message delays plus a loaded event loop, short enough that a dead leader
 * costs one round and the attestation is still published within the slot's first half (SSV's mainnet data:
 * decided after 3.5 s, 30% of attestations miss). Each later round is half a round-1 longer, so rounds do
 * not stay shorter than a slow but honest network needs.
 */
export function roundDeadlines(startMs: number, slotMs: number): (round: number) => number {
  const base = Math.max(200, slotMs / 8);
  const inc = base / 2;
  return (r) => startMs + base * r + (inc * r * (r - 1)) / 2;
}
