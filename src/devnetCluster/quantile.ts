/** The q-quantile (0 < q <= 1) of ascending `sorted` by the nearest-rank method; NaN when there is none. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
