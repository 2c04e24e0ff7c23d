import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {Recoverers} from "../../../../src/roles/validator/exchange/recoverers.js";

/** Every subset of 1..n with at least `size` members. */
function subsetsOfAtLeast(n: number, size: number): number[][] {
  const out: number[][] = [];
  for (let mask = 0; mask < 1 << n; mask++) {
    const s = [...Array(n).keys()].map((i) => i + 1).filter((i) => mask & (1 << (i - 1)));
    if (s.length >= size) out.push(s);
  }
  return out;
}

describe("Recoverers", () => {
  for (const [n, t] of [
    [4, 3],
    [7, 5],
    [10, 7],
    [5, 3],
  ] as const) {
    it(`designated ${t}-of-${n}: n-t+1 per duty, a live one for every quorum, each node agreeing, work spread evenly`, () => {
      const nodes = [...Array(n).keys()].map((i) => new Recoverers("designated", n, t, i + 1));
      const perNode = new Array<number>(n).fill(0);
      const duties = 64 * n;
      for (let slot = 0; slot < 8; slot++)
        for (let v = 0; v < duties / 8; v++) {
          const of = nodes[0]?.of(slot, v) as number[];
          assert.equal(of.length, n - t + 1);
          assert.equal(new Set(of).size, of.length);
          for (const [k, node] of nodes.entries()) {
            // Each node's own answer matches the set every node computes: no duty falls between two nodes' views.
            assert.equal(node.recovers(slot, v), of.includes(k + 1), `node ${k + 1}, slot ${slot}, v${v}`);
            if (of.includes(k + 1)) perNode[k] = (perNode[k] ?? 0) + 1;
          }
          for (const up of subsetsOfAtLeast(n, t))
            assert.ok(
              of.some((r) => up.includes(r)),
              `slot ${slot} v${v}: recoverers ${of.join(",")} all down with ${up.join(",")} up`,
            );
        }
      const share = (duties * (n - t + 1)) / n;
      for (const [k, count] of perNode.entries()) assert.equal(count, share, `node ${k + 1} recovers an even share`);
    });
  }

  it("all: every node recovers every duty", () => {
    const r = new Recoverers("all", 4, 3, 2);
    assert.deepEqual(r.of(5, 9), [1, 2, 3, 4]);
    assert.equal(r.recovers(5, 9), true);
  });
});
