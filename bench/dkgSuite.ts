import {runDkgNet} from "../test/helpers/dkgNet.js";
import type {BenchRow, Suite} from "./harness.js";

/**
 * DKG ceremony time (issue 15) for 1, 100 and 1,000 validators with 4 and 7 operators, one ceremony each (the
 * largest takes a minute in one thread). All operators run in this one thread over the in-memory network; the
 * row is the critical path (per round, the busiest operator), i.e. the time on n machines with an instant
 * network, without the connect wait, the lock step and the keystore KDFs.
 */
const SIZES: [operators: number, threshold: number][] = [
  [4, 3],
  [7, 5],
];
const VALIDATORS = [1, 100, 1000];

export const dkgSuite: Suite = {
  name: "dkg",
  async measure() {
    const rows: BenchRow[] = [];
    for (const [operators, threshold] of SIZES) {
      for (const validators of VALIDATORS) {
        const net = await runDkgNet({operators, threshold, validators});
        const failed = net.outcomes.filter((o) => !("validators" in o));
        if (failed.length > 0) throw new Error(`DKG ${threshold}-of-${operators} x ${validators} failed`);
        const ms = net.criticalPathMs;
        rows.push({
          suite: "dkg",
          task: `${threshold}-of-${operators}, ${validators} validator(s): ceremony critical path`,
          opsPerSec: 1000 / ms,
          meanMs: ms,
          p99Ms: ms,
          samples: 1,
        });
      }
    }
    return rows;
  },
};
