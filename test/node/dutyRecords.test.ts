import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {createMetrics} from "../../src/api/metrics.js";
import {recordDuty} from "../../src/node/records.js";
import type {Series} from "../../src/storage/series.js";
import {createLogger} from "../../src/util/logger.js";
import type {ProposalResult} from "../../src/roles/validator/duties/proposer/proposerService.js";

describe("duty records", () => {
  it("count a proposal's stages over budget by stage and path, and append the result to the series", async () => {
    const metrics = createMetrics();
    const appended: {type: string; slot?: number}[] = [];
    // The series itself is tested on LMDB (test/storage); here only what reaches it matters.
    const series = {
      append: async (type: string, _body: Uint8Array, _durability: string, slot?: number) => {
        appended.push({type, slot});
        return {seq: appended.length};
      },
    } as unknown as Series;
    const proposal = (slot: number, path: "builder" | "local", overBudget?: ProposalResult["overBudget"]) =>
      ({
        duty: "proposer",
        slot,
        pubkey: "0x" + "aa".repeat(48),
        validatorIndex: 1,
        status: "submitted",
        stages: {randao: 3, fetch: 700, consensus: 900},
        path,
        ...(overBudget ? {overBudget} : {}),
      }) satisfies ProposalResult;
    const target = {metrics, series, logger: createLogger("error", "test")};
    recordDuty(proposal(1, "local", ["fetch"]), target);
    recordDuty(proposal(2, "local", ["fetch", "submit"]), target);
    recordDuty(proposal(3, "builder"), target);

    const over = (await metrics.proposalStagesOverBudget.get()).values.map((v) => [
      v.labels.stage,
      v.labels.path,
      v.value,
    ]);
    assert.deepEqual(over, [
      ["fetch", "local", 2],
      ["submit", "local", 1],
    ]);
    assert.deepEqual(
      appended.map((a) => [a.type, a.slot]),
      [
        ["duty_result", 1],
        ["duty_result", 2],
        ["duty_result", 3],
      ],
    );
  });
});
