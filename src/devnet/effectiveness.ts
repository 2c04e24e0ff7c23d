import {SYNC_COMMITTEE_SIZE} from "@lodestar/params";
import {computeEndSlotAtEpoch, computeEpochAtSlot, computeStartSlotAtEpoch} from "@lodestar/state-transition";
import type {altair} from "@lodestar/types";
import {toHex} from "../hotpath/bytes.js";
import type {Inclusion} from "./blockStore.js";
import type {DevChain} from "./chain.js";
import {reject} from "./errors.js";

/** Epoch duties recorded when the epoch's shuffling is first known, so reports outlive pruned states. */
export interface EpochDuties {
  attesters: Map<number, {slot: number; committeeIndex: number}>;
  proposers: number[];
}

/** Most epochs one report may cover: keeps a request's work bounded on a long-running devnet. */
const MAX_REPORT_EPOCHS = 64;

export class DutyRecorder {
  readonly byEpoch = new Map<number, EpochDuties>();

  record(chain: DevChain, epoch: number): void {
    if (this.byEpoch.has(epoch)) return;
    const state = chain.dutyState(epoch);
    const attesters = new Map<number, {slot: number; committeeIndex: number}>();
    const count = state.epochCtx.getCommitteeCountPerSlot(epoch);
    for (let slot = computeStartSlotAtEpoch(epoch); slot <= computeEndSlotAtEpoch(epoch); slot++) {
      for (let c = 0; c < count; c++)
        for (const v of state.epochCtx.getBeaconCommittee(slot, c)) attesters.set(v, {slot, committeeIndex: c});
    }
    const proposers = [];
    for (let slot = computeStartSlotAtEpoch(epoch); slot <= computeEndSlotAtEpoch(epoch); slot++)
      proposers.push(state.epochCtx.getBeaconProposer(slot));
    this.byEpoch.set(epoch, {attesters, proposers});
  }
}

/**
 * Per validator and epoch: the duty, whether the canonical chain includes the vote, how late, and whether its
 * source, target and head were right; missed proposals; the head state's justified and finalized checkpoints.
 */
export function effectivenessReport(chain: DevChain, duties: DutyRecorder, fromEpoch: number, toEpoch: number) {
  if (!Number.isSafeInteger(fromEpoch) || !Number.isSafeInteger(toEpoch) || fromEpoch < 0 || toEpoch < fromEpoch) {
    reject(
      `from_epoch and to_epoch must be integers with 0 <= from_epoch <= to_epoch, got ${fromEpoch} and ${toEpoch}`,
    );
  }
  if (toEpoch - fromEpoch + 1 > MAX_REPORT_EPOCHS)
    reject(`at most ${MAX_REPORT_EPOCHS} epochs per report; narrow from_epoch..to_epoch`);
  const head = chain.head();
  const firstInclusion = new Map<string, Inclusion>();
  const canonicalSlots = new Set<number>();
  /** Per epoch: canonical blocks and the sync committee bits their sync aggregates set. */
  const sync = new Map<number, {blocks: number; bits: number}>();
  for (const block of chain.blocks.ancestors(head)) {
    canonicalSlots.add(block.slot);
    const aggregate = (block.signedBlock.message.body as altair.BeaconBlockBody).syncAggregate as
      altair.SyncAggregate | undefined;
    const blockEpoch = computeEpochAtSlot(block.slot);
    if (aggregate && block.slot > 0) {
      const s = sync.get(blockEpoch) ?? {blocks: 0, bits: 0};
      sync.set(blockEpoch, {
        blocks: s.blocks + 1,
        bits: s.bits + aggregate.syncCommitteeBits.getTrueBitIndexes().length,
      });
    }
    if (computeEpochAtSlot(block.slot) < fromEpoch) break;
    for (const inc of block.inclusions) {
      if (inc.targetEpoch < fromEpoch || inc.targetEpoch > toEpoch) continue;
      const key = `${inc.validatorIndex}:${inc.targetEpoch}`;
      const prev = firstInclusion.get(key);
      if (!prev || inc.inclusionSlot < prev.inclusionSlot) firstInclusion.set(key, inc);
    }
  }
  const epochs = [];
  for (let epoch = fromEpoch; epoch <= toEpoch; epoch++) {
    const d = duties.byEpoch.get(epoch);
    if (!d) continue;
    const validators = [...d.attesters.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, duty]) => {
        const inc = firstInclusion.get(`${index}:${epoch}`);
        return {
          index,
          duty: {slot: duty.slot, committee_index: duty.committeeIndex},
          included: inc !== undefined,
          inclusion_slot: inc?.inclusionSlot ?? null,
          inclusion_delay: inc ? inc.inclusionSlot - inc.attestationSlot : null,
          correct_source: inc?.correctSource ?? false,
          correct_target: inc?.correctTarget ?? false,
          correct_head: inc?.correctHead ?? false,
          refused: chain.rejections.get(`${index}:${epoch}`) ?? null,
        };
      });
    const proposals = d.proposers.map((proposer, i) => {
      const slot = computeStartSlotAtEpoch(epoch) + i;
      return {slot, proposer, proposed: canonicalSlots.has(slot), due: slot <= chain.currentSlot()};
    });
    const s = sync.get(epoch) ?? {blocks: 0, bits: 0};
    const log = chain.submissions.get(epoch);
    const aggregates = log?.aggregates ?? [];
    // An aggregate is included when every vote it carries is on the canonical chain (in it or another aggregate).
    const notIncluded = aggregates.filter((a) => !a.validators.every((v) => firstInclusion.has(`${v}:${epoch}`)));
    const committeeSubs = [...(log?.committeeSubscriptions.values() ?? [])];
    epochs.push({
      epoch,
      validators,
      proposals,
      missed_proposals: proposals.filter((p) => p.due && !p.proposed && p.slot > 0).map((p) => p.slot),
      // Each block's sync aggregate signs the previous slot; participation is the share of committee bits set over the epoch's blocks.
      sync_committee: {
        blocks: s.blocks,
        bits_set: s.bits,
        participation: s.blocks === 0 ? null : s.bits / (s.blocks * SYNC_COMMITTEE_SIZE),
      },
      aggregates: {
        accepted: aggregates.length,
        included: aggregates.length - notIncluded.length,
        not_included: notIncluded.map((a) => ({
          slot: a.slot,
          aggregator: a.aggregatorIndex,
          committee_index: a.committeeIndex,
        })),
      },
      subscriptions: {
        beacon_committee: committeeSubs.length,
        aggregators: committeeSubs.filter((x) => x).length,
        sync_committee: log?.syncSubscriptions.size ?? 0,
      },
    });
  }
  const s = chain.headState();
  const cp = (c: {epoch: number; root: Uint8Array}) => ({epoch: c.epoch, root: toHex(c.root)});
  return {
    from_epoch: fromEpoch,
    to_epoch: toEpoch,
    head_slot: head.slot,
    current_justified: cp(s.currentJustifiedCheckpoint),
    previous_justified: cp(s.previousJustifiedCheckpoint),
    finalized: cp(s.finalizedCheckpoint),
    epochs,
  };
}
