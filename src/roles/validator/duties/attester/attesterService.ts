import {type phase0, ssz} from "@lodestar/types";
import {errorMessage} from "../../../../util/errors.js";
import {toHex} from "../../../../hotpath/bytes.js";
import type {AttesterDuty, SignedAttestationInput} from "../../beacon/types.js";
import {DUTY_TYPES} from "../../dutyTypes.js";
import {attestationSigningRoot} from "../../signing/signingRoots.js";
import {decodeAttestationValue, encodeAttestationValue} from "./attestationValue.js";
import type {PublicShare} from "../../signing/shareKeys.js";
import {SubmitBatcher} from "../../beacon/submitBatcher.js";
import {EpochDuties} from "../../schedule/epochDuties.js";
import {type DutyServiceOptions, SlotDutyService} from "../../schedule/slotDutyService.js";
import type {InclusionChecker} from "../../tracking/inclusionChecker.js";
import {type DutyOutcome, type FailureReason, exchangeFailure} from "../../tracking/outcome.js";
import type {ValueRefusal} from "../../consensus/types.js";
import type {HeadReplacement} from "../../verifiedChain/headGuard.js";
import type {ExchangeItem} from "../../exchange/signatureExchange.js";
import type {Recoverers} from "../../exchange/recoverers.js";

/** A duty still unfinished this many slots after its own is reported failed and forgotten. */
const DUTY_TTL_SLOTS = 2;

export interface DutyResult extends DutyOutcome {
  duty: "attester";
  slot: number;
  pubkey: string;
  validatorIndex: number;
  /** ms from the attestation due time to the end of each stage reached. */
  stages: {fetch?: number; consensus?: number; sign?: number; recover?: number; submit?: number};
  round?: number;
  /** `--verify enforce`: this node's beacon node named a head it did not verify, and it proposed this one. */
  headReplaced?: HeadReplacement;
}

export interface AttesterServiceOptions extends DutyServiceOptions {
  onResult(result: DutyResult): void;
  /** Checks submitted attestations against the chain a few slots later. */
  inclusion?: InclusionChecker;
  /** `--recoverers designated`: which attestations this node recovers and submits; absent, all of them. */
  recoverers?: Recoverers;
}

type SlotItem = {
  d: AttesterDuty;
  data: phase0.AttestationData;
  root: Uint8Array;
  share: PublicShare;
  result: DutyResult;
};

/**
 * The attester duty, end to end (DESIGN.md): duties per epoch, attestation data at the due time, one QBFT
 * instance per slot for all validators, slashing protection, share signatures exchanged as `partial_sig`
 * chunks, recovery in the worker pool, submission. Every duty ends in exactly one DutyResult.
 */
export class AttesterService extends SlotDutyService {
  private readonly duties: EpochDuties<AttesterDuty>;
  /** This node's own attestation data per slot, fetched before consensus: proposals must agree with it on source and target. */
  private readonly ownView = new Map<number, Map<number, phase0.AttestationData>>();
  /** This node's validators known to the beacon node, [pubkey, index]: the ones that have attester duties. */
  private validators: [string, number][] = [];
  /** Every attestation recovered in the same tick goes to the beacon nodes in one request. */
  private readonly submitter: SubmitBatcher<SignedAttestationInput>;

  constructor(private readonly o: AttesterServiceOptions) {
    super("attester", o);
    this.submitter = new SubmitBatcher((atts) => o.beacon.submitAttestations(atts));
    this.duties = new EpochDuties({
      duty: "attester",
      fetch: (epoch) =>
        o.beacon.attesterDuties(
          epoch,
          this.validators.map(([, index]) => index),
        ),
      logger: o.logger,
      onFetchedLate: (d, outcome) =>
        o.onResult({
          duty: "attester",
          slot: d.slot,
          pubkey: d.pubkey,
          validatorIndex: d.validatorIndex,
          stages: {},
          ...outcome,
        }),
    });
  }

  /** A slot's duties once fetched: the aggregator prepares selection proofs and subscriptions a slot ahead. */
  dutiesAt(slot: number): AttesterDuty[] | undefined {
    return this.duties.at(slot);
  }

  override async start(): Promise<void> {
    const found = await this.o.beacon.validatorIndices([...this.sharesByPubkey.keys()]);
    this.validators = [...found];
    const missing = [...this.sharesByPubkey.keys()].filter((p) => !found.has(p));
    if (missing.length > 0)
      this.o.logger.warn("validators unknown to the beacon node (not deposited or not active yet)", {
        count: missing.length,
      });
    super.start();
  }

  /** Every slot: make sure duties of this and the next epoch are known, arm this slot's duty, expire old ones. */
  protected slot(slot: number): void {
    // No validator known to the beacon node: no duties to ask for, and none missed.
    const asking = this.validators.length > 0;
    const known = asking ? this.duties.forSlot(slot) : Promise.resolve();
    if (asking) void known.then(() => this.duties.ensure(this.clock.epochOf(slot) + 1, false));
    // After the duties are known: a node (re)started past the due time runs the slot late rather than not at all.
    this.timers.at(this.dueMs(slot), () => void known.then(() => this.runSlot(slot)));
    this.expire(slot - DUTY_TTL_SLOTS);
    this.reportUnfetched(this.clock.epochOf(slot - DUTY_TTL_SLOTS));
    this.o.inclusion?.onSlot(slot);
  }

  /**
   * Epochs that ended (DUTY_TTL_SLOTS ago, so a slot run late is marked first) without their duties ever
   * fetched. Every validator attests exactly once per epoch, so the number of duties is known even though
   * their slots are not: one duty_fetch_failed result per validator keeps the failure count, the report's
   * per-validator timeline and the metrics exact. Each sits at the first slot run blind, with the window of
   * slots its duty may have fallen in, which `r3dv duty` shows for each of those slots.
   */
  private reportUnfetched(beforeEpoch: number): void {
    for (const u of this.duties.takeUnfetched(beforeEpoch)) {
      for (const [pubkey, validatorIndex] of this.validators) {
        this.o.onResult({duty: "attester", slot: u.window.from, pubkey, validatorIndex, stages: {}, ...u.outcome});
      }
    }
  }

  private committeeOf(slot: number, d: AttesterDuty): number {
    return this.o.beacon.isElectra(slot) ? 0 : d.committeeIndex;
  }

  protected isValidValue(slot: number, value: Uint8Array): boolean | ValueRefusal {
    const byCommittee = decodeAttestationValue(value);
    if (!byCommittee) return false;
    const epoch = this.clock.epochOf(slot);
    for (const [committee, data] of byCommittee) {
      if (data.slot !== slot || data.target.epoch !== epoch || data.source.epoch > data.target.epoch) return false;
      if (this.o.beacon.isElectra(slot) ? data.index !== 0 || committee !== 0 : data.index !== committee) return false;
    }
    const ours = this.duties.at(slot);
    if (ours && !ours.every((d) => byCommittee.has(this.committeeOf(slot, d)))) return false;
    const unverified = this.o.headGuard?.attestationRefusal(byCommittee);
    if (unverified) return unverified;
    // Source and target are the same for every honest beacon node within an epoch (the head may differ):
    // a proposal voting for other checkpoints comes from a lying or broken beacon node, and is refused.
    const own = this.ownView.get(slot)?.values().next().value;
    if (own) {
      for (const data of byCommittee.values()) {
        if (
          !ssz.phase0.Checkpoint.equals(data.source, own.source) ||
          !ssz.phase0.Checkpoint.equals(data.target, own.target)
        )
          return false;
      }
    }
    return true;
  }

  private async runSlot(slot: number): Promise<void> {
    if (this.validators.length === 0) return;
    if (!this.duties.known(this.clock.epochOf(slot))) {
      // Duties unknown at the due time: whatever duty fell here ends in duty_fetch_failed, once it is known.
      return this.duties.ranBlind(slot);
    }
    const duties = this.duties.at(slot);
    if (!duties || duties.length === 0) return;
    const due = this.dueMs(slot);
    const results = duties.map((d): DutyResult => ({
      duty: "attester",
      slot,
      pubkey: d.pubkey,
      validatorIndex: d.validatorIndex,
      status: "failed",
      stages: {},
    }));
    const failWith = (outcome: DutyOutcome, which = results) => {
      for (const r of which) this.o.onResult({...r, ...outcome});
    };
    const fail = (reason: FailureReason, detail: string, which = results) =>
      failWith({status: "failed", reason, detail}, which);
    let byCommittee: Map<number, phase0.AttestationData>;
    try {
      const committees = [...new Set(duties.map((d) => this.committeeOf(slot, d)))];
      byCommittee = new Map(
        await Promise.all(committees.map(async (c) => [c, await this.o.beacon.attestationData(slot, c)] as const)),
      );
    } catch (e) {
      return fail("beacon_unavailable", errorMessage(e));
    }
    if (this.o.headGuard) {
      const guarded = await this.o.headGuard.attestationData(slot, byCommittee, this.headVerifiedBy(Date.now()));
      if ("refused" in guarded) return fail(guarded.refused.reason, guarded.refused.detail);
      byCommittee = guarded.byCommittee;
      const replaced = guarded.replaced;
      if (replaced) results.forEach((r) => (r.headReplaced = replaced));
    }
    results.forEach((r) => (r.stages.fetch = Date.now() - due));
    this.ownView.set(slot, byCommittee);
    const expired = this.timers.deadline(
      this.clock.slotStartMs(slot + DUTY_TTL_SLOTS),
      "no decision before the duty expired",
    );
    const decided = await this.decide(slot, encodeAttestationValue(byCommittee), expired);
    if (decided.failure) return failWith(decided.failure);
    const agreed = decodeAttestationValue(decided.value) as Map<number, phase0.AttestationData>;
    const unverified = await this.o.headGuard?.signable(
      [...agreed.values()].map((d) => toHex(d.beaconBlockRoot)),
      this.headVerifiedBy(Date.now()),
    );
    if (unverified) return fail(unverified.reason, unverified.detail);
    this.o.decided.set("attester", slot, {byCommittee: agreed, duties});
    results.forEach((r) => ((r.stages.consensus = Date.now() - due), (r.round = decided.round)));

    const items = duties.map((d, k) => {
      const data = agreed.get(this.committeeOf(slot, d)) as phase0.AttestationData;
      return {
        d,
        data,
        root: attestationSigningRoot(this.o.beacon.config, data),
        share: this.sharesByPubkey.get(d.pubkey) as PublicShare,
        result: results[k] as DutyResult,
      };
    });
    const deadline = this.timers.deadline(this.clock.slotStartMs(slot + DUTY_TTL_SLOTS), "the duty expired");
    const toExchange = (i: SlotItem): ExchangeItem => ({
      share: i.share,
      message: i.root,
      slashable: {kind: "attestation" as const, sourceEpoch: i.data.source.epoch, targetEpoch: i.data.target.epoch},
      onSigned: () => (i.result.stages.sign = Date.now() - due),
    });
    const recovers = (i: SlotItem) => this.o.recoverers?.recovers(slot, i.d.validatorIndex) ?? true;
    const mine = items.filter(recovers);
    const others = items.filter((i) => !recovers(i));
    const {recovered, shared} = this.o.exchange.signRecoverAndShare(
      "attester",
      slot,
      mine.map(toExchange),
      others.map(toExchange),
      deadline,
    );
    mine.forEach((i, k) => void this.submit(slot, i, recovered[k] as Promise<Uint8Array>));
    others.forEach((i, k) => void this.delegate(slot, i, shared[k] as Promise<void>));
  }

  /** An attestation other operators recover and submit (`--recoverers designated`): done once this node's partial is out. */
  private async delegate(slot: number, i: SlotItem, shared: Promise<void>): Promise<void> {
    try {
      await shared;
    } catch (e) {
      return this.o.onResult({...i.result, ...exchangeFailure(this.o.n, e, "attestation signature")});
    }
    const by = this.o.recoverers?.of(slot, i.d.validatorIndex) ?? [];
    this.o.onResult({
      ...i.result,
      status: "delegated",
      detail: `partial signed and shared; operator(s) ${by.join(", ")} recover and submit it (--recoverers designated)`,
    });
  }

  /** One attestation, once recovered, into the slot's batch for the beacon nodes: submitted, late, or why not. */
  private async submit(
    slot: number,
    i: {d: AttesterDuty; data: phase0.AttestationData; root: Uint8Array; result: DutyResult},
    recovered: Promise<Uint8Array>,
  ): Promise<void> {
    const due = this.dueMs(slot);
    let signature: Uint8Array;
    try {
      signature = await recovered;
    } catch (e) {
      return this.o.onResult({...i.result, ...exchangeFailure(this.o.n, e, "attestation signature")});
    }
    i.result.stages.recover = Date.now() - due;
    const invalid = this.o.exchange.invalidPartials("attester", slot, i.d.pubkey, i.root);
    if (invalid.length > 0) i.result.invalidPartials = invalid;
    try {
      await this.submitter.add({...i.d, data: i.data, signature});
    } catch (e) {
      return this.o.onResult({...i.result, status: "failed", reason: "submit_failed", detail: errorMessage(e)});
    }
    const after = Date.now() - due;
    i.result.stages.submit = after;
    this.o.inclusion?.track(slot, i.d, i.data.target);
    // Past the aggregators' fetch it will rarely be included: reported late.
    const late = Date.now() > this.clock.dueMs(DUTY_TYPES.attester.lateAt, slot);
    this.o.onResult({
      ...i.result,
      status: late ? "late" : "submitted",
      ...(late ? {detail: `submitted ${after} ms after the due time, after the aggregators fetched`} : {}),
    });
  }

  private expire(beforeSlot: number): void {
    this.o.driver.prune(beforeSlot);
    this.duties.prune(beforeSlot);
    for (const s of this.ownView.keys()) if (s < beforeSlot) this.ownView.delete(s);
  }
}
