/** The stages of a proposal, in the order they end; each result's `stages` holds the ms from the slot start. */
export const PROPOSAL_STAGES = ["randao", "fetch", "consensus", "sign", "submit"] as const;
export type ProposalStage = (typeof PROPOSAL_STAGES)[number];

/**
 * By when each stage should have ended, as a fraction of the slot from its start. The block must be out before
 * the slot's attesters vote at 1/3 (after that they vote for its parent), and the stages share that third:
 * - randao 1/24: the reveal is made in the slot before (RANDAO_AHEAD_AT_SLOT_FRACTION), so at the slot start it
 *   is there; past 1/24 (500 ms on mainnet) it was made at the slot start, after the one made ahead failed;
 * - fetch 1/6: the builder path's limit (2 s on mainnet, just over a beacon node's own 2 s cutoff for racing its
 *   builder); past it the node fetches a local block, which leaves the slot's second sixth for the rest;
 * - consensus 1/4: round 1 of a proposal's QBFT starts at 1/12 or when the node has its block, and ends 1/8 of a
 *   slot later, so a block agreed in round 1 is agreed by about 1/4 (measured on the 4 s devnet: p99 under 900 ms
 *   from the slot start to the publication, of 1,000 for consensus);
 * - sign 13/48: signing is this node's slashing check and one share signature, a few ms, so its budget is the
 *   consensus budget plus 1/48 (250 ms on mainnet) for a busy event loop;
 * - submit 1/3: recovering the signature and publishing, before the attesters vote.
 * A stage over its budget is said in the result (`overBudget`), counted in
 * r3dv_proposal_stages_over_budget_total and shown by `r3dv duty`; only the builder's fetch falls back, because
 * only before signing can the cluster still choose another block (a second signed block is slashable).
 */
export const PROPOSAL_BUDGET_SLOT_FRACTIONS: Readonly<Record<ProposalStage, number>> = {
  randao: 1 / 24,
  fetch: 1 / 6,
  consensus: 1 / 4,
  sign: 13 / 48,
  submit: 1 / 3,
};

/** Each stage's budget in ms from the slot start, for slots of `slotMs`. */
export function proposalBudgetMs(slotMs: number): Record<ProposalStage, number> {
  const out = {} as Record<ProposalStage, number>;
  for (const stage of PROPOSAL_STAGES) out[stage] = Math.round(slotMs * PROPOSAL_BUDGET_SLOT_FRACTIONS[stage]);
  return out;
}

/** The stages of a result that ended after their budget, in stage order. */
export function stagesOverBudget(stages: Partial<Record<ProposalStage, number>>, slotMs: number): ProposalStage[] {
  const budget = proposalBudgetMs(slotMs);
  return PROPOSAL_STAGES.filter((s) => {
    const ms = stages[s];
    return ms !== undefined && ms > budget[s];
  });
}
