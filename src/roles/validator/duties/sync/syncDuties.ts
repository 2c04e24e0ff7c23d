import {EPOCHS_PER_SYNC_COMMITTEE_PERIOD, ForkSeq, SLOTS_PER_EPOCH, SYNC_COMMITTEE_SUBNET_SIZE} from "@lodestar/params";
import {computeSyncPeriodAtEpoch, computeSyncPeriodAtSlot} from "@lodestar/state-transition";
import {errorMessage} from "../../../../util/errors.js";
import type {Logger} from "../../../../util/logger.js";
import type {BeaconNode} from "../../beacon/beaconNode.js";
import type {SyncDuty} from "../../beacon/types.js";

/** A sync committee member of the cluster and the subcommittees its positions fall in (each is one contribution duty). */
export interface SyncMember extends SyncDuty {
  subcommittees: number[];
}

/** A period whose duties could not be fetched: every validator of the cluster may have missed a duty. */
export interface SyncFetchFailure {
  reason: string;
  /** The cluster's validators; validatorIndex -1 where the chain's index is not known either. */
  validators: {pubkey: string; validatorIndex: number}[];
}

/**
 * The cluster's sync committee members, per sync committee period (fixed for the whole period, so fetched once
 * per period, for this epoch's and the next epoch's period), and the beacon node's sync subnet subscriptions
 * for them. Shared by the sync message and contribution services.
 */
export class SyncDuties {
  private readonly byPeriod = new Map<number, SyncMember[]>();
  private readonly fetching = new Map<number, Promise<void>>();
  /** Why the last fetch of a period failed, until one succeeds. */
  private readonly failures = new Map<number, string>();
  private indexByPubkey = new Map<string, number>();

  constructor(
    private readonly beacon: BeaconNode,
    private readonly pubkeys: string[],
    private readonly logger: Logger,
  ) {}

  /** Sync committees exist from Altair on. */
  active(slot: number): boolean {
    return this.beacon.config.getForkSeq(slot) >= ForkSeq.altair;
  }

  /**
   * Members on duty at `slot`. The spec's message at slot s is for the committee of slot s + 1: the last slot
   * of a period is signed by the next period's committee, whose signatures the next block carries.
   */
  at(slot: number): SyncMember[] | undefined {
    return this.byPeriod.get(computeSyncPeriodAtSlot(slot + 1));
  }

  /**
   * Why the duties of `slot` are unknown, if fetching them failed: the services then report each validator's
   * duty as failed instead of running none and saying nothing (no duties and unknown duties are not alike).
   */
  fetchFailure(slot: number): SyncFetchFailure | undefined {
    const period = computeSyncPeriodAtSlot(slot + 1);
    const reason = this.byPeriod.has(period) ? undefined : this.failures.get(period);
    if (reason === undefined) return undefined;
    return {
      reason,
      validators: this.pubkeys.map((pubkey) => ({
        pubkey: pubkey.toLowerCase(),
        validatorIndex: this.indexByPubkey.get(pubkey.toLowerCase()) ?? -1,
      })),
    };
  }

  /** Makes sure the periods of `epoch` and `epoch + 1` are known (fetching each period once) and subscribed. */
  ensure(epoch: number): Promise<void> {
    return Promise.all([this.ensurePeriod(epoch), this.ensurePeriod(epoch + 1)]).then(() => undefined);
  }

  prune(beforeSlot: number): void {
    const period = computeSyncPeriodAtSlot(Math.max(0, beforeSlot));
    for (const p of this.byPeriod.keys()) if (p < period) this.byPeriod.delete(p);
    for (const p of this.fetching.keys()) if (p < period) this.fetching.delete(p);
    for (const p of this.failures.keys()) if (p < period) this.failures.delete(p);
  }

  private ensurePeriod(epoch: number): Promise<void> {
    const period = computeSyncPeriodAtEpoch(epoch);
    if (!this.active(epoch * SLOTS_PER_EPOCH)) return Promise.resolve();
    let p = this.fetching.get(period);
    if (!p) {
      p = this.fetch(epoch, period).catch((e: unknown) => {
        // Forget the failure so the next slot retries.
        this.fetching.delete(period);
        this.failures.set(period, errorMessage(e));
        this.logger.warn("sync committee duties not fetched", {epoch, period}, e);
      });
      this.fetching.set(period, p);
    }
    return p;
  }

  private async fetch(epoch: number, period: number): Promise<void> {
    if (this.indexByPubkey.size === 0) this.indexByPubkey = await this.beacon.validatorIndices(this.pubkeys);
    if (this.indexByPubkey.size === 0) return;
    const duties = await this.beacon.syncCommitteeDuties(epoch, [...this.indexByPubkey.values()]);
    const members = duties.map((d) => ({
      ...d,
      pubkey: d.pubkey.toLowerCase(),
      subcommittees: [
        ...new Set(d.validatorSyncCommitteeIndices.map((i) => Math.floor(i / SYNC_COMMITTEE_SUBNET_SIZE))),
      ].sort((a, b) => a - b),
    }));
    this.byPeriod.set(period, members);
    this.failures.delete(period);
    if (members.length === 0) return;
    // The subscription lasts until the period ends (until_epoch is exclusive).
    const untilEpoch = (period + 1) * EPOCHS_PER_SYNC_COMMITTEE_PERIOD;
    try {
      await this.beacon.prepareSyncCommitteeSubnets(
        members.map((m) => ({
          validatorIndex: m.validatorIndex,
          syncCommitteeIndices: m.validatorSyncCommitteeIndices,
          untilEpoch,
        })),
      );
    } catch (e) {
      // The duties still run: a beacon node that missed the subscription may just forward fewer messages.
      this.logger.warn("sync committee subscriptions refused", {period, members: members.length}, e);
    }
  }
}
