import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {createMetrics} from "../../src/api/metrics.js";
import {verdictEvents} from "../../src/node/records.js";
import type {Logger} from "../../src/util/logger.js";

function capturingLogger(lines: {level: string; message: string; context?: Record<string, unknown>}[]): Logger {
  const at =
    (level: string) =>
    (message: string, context?: Record<string, unknown>): void =>
      void lines.push({level, message, context});
  const logger: Logger = {
    error: at("error"),
    warn: at("warn"),
    info: at("info"),
    debug: at("debug"),
    child: () => logger,
  };
  return logger;
}

const timings = {slotsMs: 1, signaturesMs: 8, blockMs: 3, hashMs: 2, totalMs: 14};
const block = {slot: 5, root: "0xaa", parentRoot: "0xbb"};

describe("EVM verdict records", () => {
  it("counts each verdict by status and reason, times its stages, and logs the invalid ones at warn with the reason", async () => {
    const metrics = createMetrics();
    const lines: {level: string; message: string; context?: Record<string, unknown>}[] = [];
    const events = verdictEvents({metrics, logger: capturingLogger(lines)});
    events.verdict?.({status: "verified", stateRoot: "0xcc", timings, ...block});
    events.verdict?.({status: "invalid", reason: "bad_state_root", detail: "roots differ", timings, ...block});
    events.verdict?.({status: "unavailable", reason: "fetch_failed", detail: "404", root: "0xdd"});

    const counts = (await metrics.blockVerdicts.get()).values.map((v) => [v.labels.status, v.labels.reason, v.value]);
    assert.deepEqual(counts, [
      ["verified", "", 1],
      ["invalid", "bad_state_root", 1],
      ["unavailable", "fetch_failed", 1],
    ]);
    const totals = (await metrics.blockVerifySeconds.get()).values.filter(
      (v) => v.metricName === "r3dv_evm_block_verify_seconds_count" && v.labels.stage === "signatures",
    );
    assert.equal(totals[0]?.value, 2, "the verified and the invalid block's signature stage");
    const warn = lines.find((l) => l.level === "warn");
    assert.equal(warn?.message, "block invalid");
    assert.equal(warn?.context?.reason, "bad_state_root");
    assert.equal(warn?.context?.slot, 5);
    assert.deepEqual(
      lines.map((l) => l.level),
      ["info", "warn", "debug"],
    );
  });
});
