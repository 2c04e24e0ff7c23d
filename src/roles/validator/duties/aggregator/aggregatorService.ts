import {type Attestation, type phase0, ssz} from "@lodestar/types";
import {errorMessage} from "../../../../util/errors.js";
import type {BeaconNode} from "../../beacon/beaconNode.js";
import type {AttesterDuty} from "../../beacon/types.js";
import {aggregateAndProofSigningRoot} from "../../signing/signingRoots.js";
import type {PublicShare} from "../../signing/shareKeys.js";
import {type DutyServiceOptions, SlotDutyService} from "../../schedule/slotDutyService.js";
import {type DutyOutcome, exchangeFailure, poolReadFailure} from "../../tracking/outcome.js";
import {poolReadOptions, readFromPool} from "../../beacon/poolRead.js";
import {AggregatorSelections} from "./aggregatorSelections.js";

export interface AggregationResult extends DutyOutcome {
  duty: "aggregator";
  slot: number;
  pubkey: string;
  validatorIndex: number;
  /** A published aggregate's ms from the aggregate due time (2/3 slot) to its submission. */
  stages?: {submit: number};
}

export interface AggregatorServiceOptions extends DutyServiceOptions {
  onResult(r: AggregationResult): void;
  /** A slot's attester duties once known: selection proofs and subscriptions are made a slot ahead. */
  dutiesAt?(slot: number): AttesterDuty[] | undefined;
}

/**
 * Attestation aggregation as a distributed validator (DESIGN.md): partial selection proofs are exchanged
 * and recovered, the spec's aggregator condition is checked on the recovered proof, and for every committee
 * with one of our aggregators the aggregate is fetched at 2/3 of the slot, agreed by QBFT, threshold-signed
 * as an AggregateAndProof and published. Without it, a committee whose aggregators are all ours would see
 * its attestations never reach a block.
 */
export class AggregatorService extends SlotDutyService {
  private readonly selections: AggregatorSelections;

  constructor(private readonly o: AggregatorServiceOptions) {
    super("aggregator", o);
    this.selections = new AggregatorSelections(o);
  }

  /** Every slot start: selection proofs and committee subscriptions for the next slot's duties. */
  protected slot(slot: number): void {
    this.selections.prune(slot - 2);
    // A slot whose attester duties were not fetched has no aggregation duty to report: being an aggregator is
    // decided by a selection proof over the duty's own slot, so none is known to be missed, and the
    // attester's duty_fetch_failed result stands for the validator.
    const next = this.o.dutiesAt?.(slot + 1);
    if (next && next.length > 0)
      void this.selections.select(slot + 1, next, this.timers.deadline(this.clock.slotStartMs(slot + 2), "slot ended"));
    // As long as the attester duty may still decide (it expires two slots on): a late decision still ends
    // every aggregation duty in one result, failed at its own slot's end if need be.
    const attesterExpired = this.timers.deadline(this.clock.slotStartMs(slot + 2), "no attestation data agreed");
    void this.o.decided.await("attester", slot, attesterExpired).then(
      ({byCommittee, duties}) => this.run(slot, byCommittee, duties),
      // No agreed data, no aggregation to run: the attester duty's own result says why.
      () => undefined,
    );
  }

  protected isValidValue(slot: number, value: Uint8Array): boolean {
    return decodeAggregates(value)?.every(([, a]) => a.data.slot === slot) ?? false;
  }

  private async run(
    slot: number,
    byCommittee: Map<number, phase0.AttestationData>,
    duties: AttesterDuty[],
  ): Promise<void> {
    if (this.timers.isStopped) return;
    await this.aggregate(slot, byCommittee, duties).catch((e) => this.o.logger.error("aggregation failed", {slot}, e));
  }

  private async aggregate(
    slot: number,
    byCommittee: Map<number, phase0.AttestationData>,
    duties: AttesterDuty[],
  ): Promise<void> {
    const {beacon, exchange} = this.o;
    const deadline = this.timers.deadline(beacon.clock.slotStartMs(slot + 1), "slot ended");
    const result = (d: AttesterDuty, r: Omit<AggregationResult, "duty" | "slot" | "pubkey" | "validatorIndex">) =>
      this.o.onResult({duty: "aggregator", slot, pubkey: d.pubkey, validatorIndex: d.validatorIndex, ...r});

    const selections = await this.selections.select(slot, duties, deadline);
    const selected: {duty: AttesterDuty; proof: Uint8Array}[] = [];
    for (const d of duties) {
      const s = selections.get(d.pubkey);
      if (!s) continue;
      if ("failure" in s) result(d, s.failure);
      else if (s.isAggregator) selected.push({duty: d, proof: s.proof});
      else result(d, {status: "not_selected"});
    }
    if (selected.length === 0) return;
    // A stopped service never resumes here: the timer is cancelled.
    await new Promise<void>((r) => this.timers.at(this.dueMs(slot), r));

    const electra = beacon.isElectra(slot);
    const committees = [...new Set(selected.map((s) => s.duty.committeeIndex))].sort((a, b) => a - b);
    const retry = poolReadOptions(beacon.clock.slotStartMs(slot), beacon.clock.slotMs, this.timers);
    let aggregates: [number, Attestation][];
    try {
      aggregates = await Promise.all(
        committees.map(async (c) => {
          const data = byCommittee.get(electra ? 0 : c) as phase0.AttestationData;
          const root = ssz.phase0.AttestationData.hashTreeRoot(data);
          return [c, await readFromPool(() => beacon.aggregateAttestation(slot, root, c), retry)] as [
            number,
            Attestation,
          ];
        }),
      );
    } catch (e) {
      for (const s of selected) result(s.duty, {status: "failed", reason: poolReadFailure(e), detail: errorMessage(e)});
      return;
    }
    const decided = await this.decide(slot, encodeAggregates(beacon, slot, aggregates), deadline);
    if (decided.failure) {
      for (const s of selected) result(s.duty, decided.failure);
      return;
    }
    const agreed = decodeAggregatesFor(beacon, slot, decided.value) ?? [];
    const byCommitteeAgreed = new Map(agreed);
    const signed: {message: unknown; signature: Uint8Array}[] = [];
    const published: AttesterDuty[] = [];
    const toSign: {
      duty: AttesterDuty;
      message: {aggregatorIndex: number; aggregate: Attestation; selectionProof: Uint8Array};
    }[] = [];
    for (const {duty, proof} of selected) {
      const aggregate = byCommitteeAgreed.get(duty.committeeIndex);
      if (!aggregate)
        result(duty, {
          status: "failed",
          reason: "beacon_unavailable",
          detail: "the agreed aggregates hold none for its committee",
        });
      else toSign.push({duty, message: {aggregatorIndex: duty.validatorIndex, aggregate, selectionProof: proof}});
    }
    // One Signer call and one partial_sig chunk for the slot's aggregators (about 78 a slot at 10,000 validators), as
    // for its attesters: one chunk each cost every peer a signature check and a series write per aggregator.
    let signatures: Promise<Uint8Array>[];
    try {
      signatures = exchange.signAndExchangeAll(
        "aggregate",
        slot,
        toSign.map(({duty, message}) => ({
          share: this.sharesByPubkey.get(duty.pubkey) as PublicShare,
          message: aggregateAndProofSigningRoot(beacon.config, slot, message),
        })),
        deadline,
      );
    } catch (e) {
      // Every aggregation of the slot ends in a result, whatever made the batch fail before it was signed.
      for (const {duty} of toSign) result(duty, exchangeFailure(this.o.n, e, "aggregate signature"));
      return;
    }
    await Promise.all(
      toSign.map(async ({duty, message}, k) => {
        try {
          signed.push({message, signature: await (signatures[k] as Promise<Uint8Array>)});
          published.push(duty);
        } catch (e) {
          result(duty, exchangeFailure(this.o.n, e, "aggregate signature"));
        }
      }),
    );
    if (signed.length === 0) return;
    try {
      const refused = await beacon.publishAggregates(slot, signed);
      const stages = {submit: Date.now() - this.dueMs(slot)};
      published.forEach((d, k) => {
        const why = refused.get(k);
        result(
          d,
          why ? {status: "failed", reason: "submit_failed", detail: errorMessage(why)} : {status: "submitted", stages},
        );
      });
    } catch (e) {
      for (const d of published) result(d, {status: "failed", reason: "submit_failed", detail: errorMessage(e)});
    }
  }
}

type AttestationType = {serialize(v: Attestation): Uint8Array; deserialize(b: Uint8Array): Attestation};
const attestationType = (beacon: BeaconNode, slot: number) =>
  beacon.config.getForkTypes(slot).Attestation as unknown as AttestationType;

/** Consensus value: (committee u64, length u32, SSZ Attestation of the slot's fork) per committee, sorted. */
function encodeAggregates(beacon: BeaconNode, slot: number, aggregates: [number, Attestation][]): Uint8Array {
  const type = attestationType(beacon, slot);
  return new Uint8Array(
    Buffer.concat(
      aggregates.map(([c, a]) => {
        const body = type.serialize(a);
        const head = Buffer.alloc(12);
        head.writeBigUInt64BE(BigInt(c), 0);
        head.writeUInt32BE(body.length, 8);
        return Buffer.concat([head, body]);
      }),
    ),
  );
}

function decodeAggregates(value: Uint8Array): [number, {data: {slot: number}}][] | null {
  // Validity only needs the slot; the full decode happens with the fork's type once decided.
  const out: [number, {data: {slot: number}}][] = [];
  const b = Buffer.from(value);
  let o = 0;
  while (o < b.length) {
    if (o + 12 > b.length) return null;
    const c = Number(b.readBigUInt64BE(o));
    const len = b.readUInt32BE(o + 8);
    // AttestationData sits after the 4-byte aggregation_bits offset in every fork's Attestation: slot is its first field.
    if (o + 12 + len > b.length || len < 12) return null;
    out.push([c, {data: {slot: Number(b.readBigUInt64LE(o + 12 + 4))}}]);
    o += 12 + len;
  }
  return out.length > 0 ? out : null;
}

function decodeAggregatesFor(beacon: BeaconNode, slot: number, value: Uint8Array): [number, Attestation][] | null {
  const type = attestationType(beacon, slot);
  const out: [number, Attestation][] = [];
  const b = Buffer.from(value);
  try {
    for (let o = 0; o < b.length;) {
      const c = Number(b.readBigUInt64BE(o));
      const len = b.readUInt32BE(o + 8);
      out.push([c, type.deserialize(b.subarray(o + 12, o + 12 + len))]);
      o += 12 + len;
    }
  } catch {
    return null;
  }
  return out;
}
