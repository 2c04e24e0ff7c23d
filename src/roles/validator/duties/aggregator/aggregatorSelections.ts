import {isAggregatorFromCommitteeLength} from "@lodestar/state-transition";
import type {AttesterDuty} from "../../beacon/types.js";
import {selectionProofSigningRoot} from "../../signing/signingRoots.js";
import {type DutyOutcome, exchangeFailure} from "../../tracking/outcome.js";
import type {PublicShare} from "../../signing/shareKeys.js";
import type {DutyServiceOptions} from "../../schedule/slotDutyService.js";

/** A duty's recovered selection proof and whether it makes the validator an aggregator, or why there is none. */
export type Selection = {proof: Uint8Array; isAggregator: boolean} | {failure: DutyOutcome};

export type AggregatorSelectionsOptions = Pick<DutyServiceOptions, "beacon" | "exchange" | "shares" | "n" | "logger">;

/**
 * Attestation aggregator selection, a slot ahead: the partial selection proofs of a slot's attester duties
 * are exchanged (one chunk for all of them) and recovered, the aggregator condition is checked on the
 * recovered proof, and the beacon node gets the slot's committee subscriptions
 * (`POST /eth/v1/validator/beacon_committee_subscriptions`) with `is_aggregator` from it, so it can join
 * and collect the committee's subnet before the aggregate is due. Once per slot: later calls share the result.
 */
export class AggregatorSelections {
  private readonly bySlot = new Map<number, Promise<Map<string, Selection>>>();
  private readonly sharesByPubkey: Map<string, PublicShare>;

  constructor(private readonly o: AggregatorSelectionsOptions) {
    this.sharesByPubkey = new Map(o.shares.map((s) => [s.pubkey, s]));
  }

  select(slot: number, duties: AttesterDuty[], deadline: Promise<never>): Promise<Map<string, Selection>> {
    let p = this.bySlot.get(slot);
    if (!p) this.bySlot.set(slot, (p = this.run(slot, duties, deadline)));
    return p;
  }

  prune(beforeSlot: number): void {
    for (const s of this.bySlot.keys()) if (s < beforeSlot) this.bySlot.delete(s);
  }

  private async run(slot: number, duties: AttesterDuty[], deadline: Promise<never>): Promise<Map<string, Selection>> {
    const {beacon} = this.o;
    const ours = duties.filter((d) => this.sharesByPubkey.has(d.pubkey));
    const root = selectionProofSigningRoot(beacon.config, slot);
    const proofs = this.o.exchange.signAndExchangeAll(
      "selection",
      slot,
      ours.map((d) => ({share: this.sharesByPubkey.get(d.pubkey) as PublicShare, message: root})),
      deadline,
    );
    const out = new Map<string, Selection>();
    await Promise.all(
      ours.map(async (d, k) => {
        try {
          const proof = await (proofs[k] as Promise<Uint8Array>);
          out.set(d.pubkey, {proof, isAggregator: isAggregatorFromCommitteeLength(d.committeeLength, proof)});
        } catch (e) {
          out.set(d.pubkey, {failure: exchangeFailure(this.o.n, e, "selection proof")});
        }
      }),
    );
    const subscriptions = ours.map((d) => {
      const s = out.get(d.pubkey);
      return {
        validatorIndex: d.validatorIndex,
        committeeIndex: d.committeeIndex,
        committeesAtSlot: d.committeesAtSlot,
        slot,
        isAggregator: s !== undefined && "proof" in s && s.isAggregator,
      };
    });
    try {
      await beacon.prepareBeaconCommitteeSubnets(subscriptions);
    } catch (e) {
      // Aggregation still runs: the beacon node may hold fewer of the committee's votes without the subnet.
      this.o.logger.warn("beacon committee subscriptions refused", {slot, count: subscriptions.length}, e);
    }
    return out;
  }
}
