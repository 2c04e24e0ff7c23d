import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {
  PROPOSAL_STAGES,
  proposalBudgetMs,
  stagesOverBudget,
} from "../../../../../src/roles/validator/duties/proposer/proposalBudget.js";

describe("proposal stage budgets", () => {
  it("end before the attesters vote, in stage order, on mainnet's 12 s slots", () => {
    const budget = proposalBudgetMs(12_000);
    assert.deepEqual(budget, {randao: 500, fetch: 2000, consensus: 3000, sign: 3250, submit: 4000});
    const ends = PROPOSAL_STAGES.map((s) => budget[s]);
    assert.deepEqual(
      ends,
      [...ends].sort((a, b) => a - b),
      "each stage's budget ends after the one before",
    );
  });

  it("names the stages that ended after their budget, and only stages that were reached", () => {
    // 4 s slots: randao 167, fetch 667, consensus 1000, sign 1083, submit 1333.
    assert.deepEqual(stagesOverBudget({randao: 5, fetch: 700, consensus: 900, sign: 905}, 4000), ["fetch"]);
    assert.deepEqual(stagesOverBudget({randao: 200, fetch: 300, submit: 1400}, 4000), ["randao", "submit"]);
    assert.deepEqual(stagesOverBudget({randao: 167, fetch: 667}, 4000), [], "a stage ending on its budget is in it");
    assert.deepEqual(stagesOverBudget({}, 4000), []);
  });
});
