import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {isSyncCommitteeAggregator} from "@lodestar/state-transition";
import {type altair, ssz} from "@lodestar/types";
import {instanceId} from "../../consensus/instanceId.js";
import {errorMessage} from "../../../../util/errors.js";
import {contributionAndProofSigningRoot, syncSelectionProofSigningRoot} from "../../signing/signingRoots.js";
import {type DutyOutcome, consensusFailure, exchangeFailure, poolReadFailure} from "../../tracking/outcome.js";
import {poolReadOptions, readFromPool} from "../../beacon/poolRead.js";
import type {PublicShare} from "../../signing/shareKeys.js";
import {SlotDutyService} from "../../schedule/slotDutyService.js";
import {SubmitBatcher} from "../../beacon/submitBatcher.js";
import type {SyncServiceOptions} from "./syncCommitteeService.js";
import type {SyncMember} from "./syncDuties.js";

export interface SyncContributionResult extends DutyOutcome {
  duty: "sync_contribution";
  slot: number;
  pubkey: string;
  validatorIndex: number;
  /** -1 when the duties were not fetched (duty_fetch_failed): the subcommittee is unknown too. */
  subcommitteeIndex: number;
}

export interface SyncContributionServiceOptions extends SyncServiceOptions {
  onResult(r: SyncContributionResult): void;
}

interface Selected {
  member: SyncMember;
  subcommitteeIndex: number;
  proof: Uint8Array;
}

const CONTRIBUTION_SIZE = ssz.altair.SyncCommitteeContribution.fixedSize as number;

/**
 * Sync committee contributions as a distributed validator: at the slot start every member's partial selection
 * proofs (one per subcommittee it sits in) are exchanged and recovered, and the spec's aggregator condition is
 * checked on the recovered proof. At 2/3 of the slot, for each subcommittee with one of our aggregators, the
 * contribution over the slot's agreed sync message root is fetched, the set is agreed by QBFT (the beacon
 * nodes' pools differ), threshold-signed as ContributionAndProofs and published.
 */
export class SyncContributionService extends SlotDutyService {
  private readonly publisher: SubmitBatcher<altair.SignedContributionAndProof>;

  constructor(private readonly o: SyncContributionServiceOptions) {
    super("sync_contribution", o);
    this.publisher = new SubmitBatcher((signed) => o.beacon.publishContributions(signed));
  }

  protected isValidValue(slot: number, value: Uint8Array): boolean {
    return decodeContributions(value)?.every((c) => c.slot === slot) ?? false;
  }

  protected slot(slot: number): void {
    if (!this.o.duties.active(slot)) return;
    void this.o.duties
      .ensure(Math.floor(slot / SLOTS_PER_EPOCH))
      .then(() => this.run(slot))
      .catch((e) => this.o.logger.error("sync contribution duty failed", {slot}, e));
  }

  private async run(slot: number): Promise<void> {
    if (this.timers.isStopped) return;
    const result = (s: {member: {pubkey: string; validatorIndex: number}; subcommitteeIndex: number}, r: DutyOutcome) =>
      this.o.onResult({
        duty: "sync_contribution",
        slot,
        pubkey: s.member.pubkey,
        validatorIndex: s.member.validatorIndex,
        subcommitteeIndex: s.subcommitteeIndex,
        ...r,
      });
    const unknown = this.o.duties.fetchFailure(slot);
    if (unknown) {
      // Which subcommittees the validator sits in is part of what is unknown: -1.
      const outcome: DutyOutcome = {
        status: "failed",
        reason: "duty_fetch_failed",
        detail: `sync committee duties not fetched: ${unknown.reason}`,
      };
      for (const member of unknown.validators)
        if (this.sharesByPubkey.has(member.pubkey)) result({member, subcommitteeIndex: -1}, outcome);
      return;
    }
    const members = this.o.duties.at(slot)?.filter((m) => this.sharesByPubkey.has(m.pubkey));
    if (!members || members.length === 0) return;
    const {beacon, exchange} = this.o;
    const deadline = this.timers.deadline(beacon.clock.slotStartMs(slot + 1), "slot ended");

    const selected = await this.selectAggregators(slot, members, deadline, result);
    if (selected.length === 0) return;

    let root: Uint8Array;
    try {
      root = await this.o.decided.await("sync_message", slot, deadline);
    } catch (e) {
      const outcome = consensusFailure(this.o.driver, instanceId("sync_message", slot), this.o.n, e);
      for (const s of selected) result(s, {...outcome, detail: `no agreed sync message root: ${outcome.detail ?? ""}`});
      return;
    }
    // A stopped service never resumes here: the timer is cancelled.
    await new Promise<void>((r) => this.timers.at(this.dueMs(slot), r));

    const subs = [...new Set(selected.map((s) => s.subcommitteeIndex))].sort((a, b) => a - b);
    const retry = poolReadOptions(beacon.clock.slotStartMs(slot), beacon.clock.slotMs, this.timers);
    const fetched = await Promise.allSettled(
      subs.map((sub) => readFromPool(() => beacon.syncCommitteeContribution(slot, sub, root), retry)),
    );
    const mine = fetched.flatMap((f) => (f.status === "fulfilled" ? [f.value] : []));
    if (mine.length === 0) {
      const reason = fetched.find((f) => f.status === "rejected")?.reason;
      for (const s of selected)
        result(s, {status: "failed", reason: poolReadFailure(reason), detail: errorMessage(reason)});
      return;
    }
    const decided = await this.decide(slot, encodeContributions(mine), deadline);
    if (decided.failure) {
      for (const s of selected) result(s, decided.failure);
      return;
    }
    const agreed = new Map((decodeContributions(decided.value) ?? []).map((c) => [c.subcommitteeIndex, c]));

    const toSign = selected.flatMap((s) => {
      const contribution = agreed.get(s.subcommitteeIndex);
      if (contribution)
        return [{s, message: {aggregatorIndex: s.member.validatorIndex, contribution, selectionProof: s.proof}}];
      result(s, {
        status: "failed",
        reason: "beacon_unavailable",
        detail: `the agreed contributions hold none for subcommittee ${s.subcommitteeIndex}`,
      });
      return [];
    });
    const sigs = exchange.signAndExchangeAll(
      "sync_contribution",
      slot,
      toSign.map((t) => ({
        share: this.sharesByPubkey.get(t.s.member.pubkey) as PublicShare,
        message: contributionAndProofSigningRoot(beacon.config, t.message),
      })),
      deadline,
    );
    await Promise.all(
      toSign.map(async (t, k) => {
        let signature: Uint8Array;
        try {
          signature = await (sigs[k] as Promise<Uint8Array>);
        } catch (e) {
          return result(t.s, exchangeFailure(this.o.n, e, "contribution signature"));
        }
        try {
          await this.publisher.add({message: t.message, signature});
          result(t.s, {status: "submitted"});
        } catch (e) {
          result(t.s, {status: "failed", reason: "submit_failed", detail: errorMessage(e)});
        }
      }),
    );
  }

  /**
   * One aggregator per subcommittee for the whole cluster: the cluster's contributions for a subcommittee are
   * all the same agreed contribution, so a second one adds no signature to any block but costs two more
   * threshold signatures (selection proof and contribution), and on a small devnet every member is selected.
   * Candidates are tried in waves, a subcommittee's next member only if the previous one was not selected;
   * members never tried end as not_selected, naming the cluster's aggregator of their subcommittee, or with
   * the failure of the proof that was tried.
   */
  private async selectAggregators(
    slot: number,
    members: SyncMember[],
    deadline: Promise<never>,
    result: (s: {member: SyncMember; subcommitteeIndex: number}, r: DutyOutcome) => void,
  ): Promise<Selected[]> {
    const {beacon, exchange} = this.o;
    const candidates = new Map<number, SyncMember[]>();
    for (const m of members)
      for (const sub of m.subcommittees) candidates.set(sub, [...(candidates.get(sub) ?? []), m]);
    const selected: Selected[] = [];
    for (let wave = 0; candidates.size > 0; wave++) {
      const tries = [...candidates.entries()].flatMap(([subcommitteeIndex, ms]) => {
        const member = ms[wave];
        return member ? [{member, subcommitteeIndex}] : [];
      });
      if (tries.length === 0) break;
      const proofs = exchange.signAndExchangeAll(
        "sync_selection",
        slot,
        tries.map((d) => ({
          share: this.sharesByPubkey.get(d.member.pubkey) as PublicShare,
          message: syncSelectionProofSigningRoot(beacon.config, slot, d.subcommitteeIndex),
        })),
        deadline,
      );
      // This wave settled the subcommittee: its untried members end with `outcome` and are not tried.
      const settle = (d: {member: SyncMember; subcommitteeIndex: number}, outcome: DutyOutcome) => {
        for (const member of (candidates.get(d.subcommitteeIndex) ?? []).slice(wave + 1))
          result({member, subcommitteeIndex: d.subcommitteeIndex}, outcome);
        candidates.delete(d.subcommitteeIndex);
      };
      await Promise.all(
        tries.map(async (d, k) => {
          try {
            const proof = await (proofs[k] as Promise<Uint8Array>);
            if (!isSyncCommitteeAggregator(proof)) return result(d, {status: "not_selected"});
            selected.push({...d, proof});
            settle(d, {
              status: "not_selected",
              detail: `validator ${d.member.validatorIndex} aggregates subcommittee ${d.subcommitteeIndex} for the cluster`,
            });
          } catch (e) {
            // The exchange ran out of time (or partials were invalid): the next member's proof would meet the
            // same deadline, so the subcommittee's other members share this outcome instead of being tried.
            const failure = exchangeFailure(this.o.n, e, "sync selection proof");
            result(d, failure);
            settle(d, {
              ...failure,
              detail: `validator ${d.member.validatorIndex}'s selection proof for subcommittee ${d.subcommitteeIndex} failed: ${failure.detail ?? failure.reason ?? ""}`,
            });
          }
        }),
      );
      for (const [sub, ms] of candidates) if (ms.length <= wave + 1) candidates.delete(sub);
    }
    return selected;
  }
}

/** Consensus value: the slot's contributions, fixed-size SSZ each, in subcommittee order. */
export function encodeContributions(contributions: altair.SyncCommitteeContribution[]): Uint8Array {
  const sorted = [...contributions].sort((a, b) => a.subcommitteeIndex - b.subcommitteeIndex);
  return new Uint8Array(Buffer.concat(sorted.map((c) => ssz.altair.SyncCommitteeContribution.serialize(c))));
}

export function decodeContributions(value: Uint8Array): altair.SyncCommitteeContribution[] | null {
  if (value.length === 0 || value.length % CONTRIBUTION_SIZE !== 0) return null;
  const out: altair.SyncCommitteeContribution[] = [];
  try {
    for (let o = 0; o < value.length; o += CONTRIBUTION_SIZE)
      out.push(ssz.altair.SyncCommitteeContribution.deserialize(value.subarray(o, o + CONTRIBUTION_SIZE)));
  } catch {
    return null;
  }
  // One contribution per subcommittee, ascending: a value with duplicates or disorder is not one an honest node built.
  return out.every(
    (c, i) => i === 0 || c.subcommitteeIndex > (out[i - 1] as altair.SyncCommitteeContribution).subcommitteeIndex,
  )
    ? out
    : null;
}
