import {computeEpochAtSlot} from "@lodestar/state-transition";

/** An aggregate the devnet accepted from an aggregator: whose votes it carries. */
export interface AcceptedAggregate {
  slot: number;
  aggregatorIndex: number;
  committeeIndex: number;
  validators: number[];
}

interface EpochLog {
  aggregates: AcceptedAggregate[];
  /** validator -> whether it subscribed as the aggregator of its committee (last word wins). */
  committeeSubscriptions: Map<number, boolean>;
  syncSubscriptions: Set<number>;
}

/** Epochs kept: twice the effectiveness report's limit, so a report never finds its epochs half-pruned. */
const EPOCHS_KEPT = 128;

/**
 * What validators handed the devnet besides votes and blocks: accepted aggregates and subnet subscriptions, by
 * epoch, so the effectiveness report can say whether every aggregate made it on chain and who subscribed.
 */
export class SubmissionLog {
  private readonly byEpoch = new Map<number, EpochLog>();

  addAggregate(a: AcceptedAggregate): void {
    this.epoch(computeEpochAtSlot(a.slot)).aggregates.push(a);
  }

  addCommitteeSubscription(slot: number, validatorIndex: number, isAggregator: boolean): void {
    this.epoch(computeEpochAtSlot(slot)).committeeSubscriptions.set(validatorIndex, isAggregator);
  }

  addSyncSubscription(epoch: number, validatorIndex: number): void {
    this.epoch(epoch).syncSubscriptions.add(validatorIndex);
  }

  get(epoch: number): EpochLog | undefined {
    return this.byEpoch.get(epoch);
  }

  private epoch(epoch: number): EpochLog {
    let log = this.byEpoch.get(epoch);
    if (!log) {
      this.byEpoch.set(
        epoch,
        (log = {aggregates: [], committeeSubscriptions: new Map(), syncSubscriptions: new Set()}),
      );
      for (const e of this.byEpoch.keys()) if (e < epoch - EPOCHS_KEPT) this.byEpoch.delete(e);
    }
    return log;
  }
}
