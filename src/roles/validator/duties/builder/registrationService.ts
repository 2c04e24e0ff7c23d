import {SLOTS_PER_EPOCH} from "@lodestar/params";
import type {bellatrix} from "@lodestar/types";
import {DEFAULT_GAS_LIMIT} from "../../../../cluster/gasLimit.js";
import {fromHex} from "../../../../hotpath/bytes.js";
import {errorMessage} from "../../../../util/errors.js";
import type {Logger} from "../../../../util/logger.js";
import type {BeaconNode} from "../../beacon/beaconNode.js";
import type {SignatureExchange} from "../../exchange/signatureExchange.js";
import {DutyTimers} from "../../schedule/dutyClock.js";
import type {PublicShare} from "../../signing/shareKeys.js";
import {validatorRegistrationSigningRoot} from "../../signing/signingRoots.js";
import {UNKNOWN_VALIDATOR} from "../../tracking/dutyFetchFailures.js";
import {type DutyOutcome, exchangeFailure} from "../../tracking/outcome.js";

/**
 * Where in its slot a validator's registration is signed: at 5/6, after the aggregates are fetched (2/3) and
 * before the next slot's proposal, the one quiet moment of a slot's duties.
 */
const SIGN_AT_SLOT_FRACTION = 5 / 6;

/** A validator's registration of one epoch, as every node of the cluster signed and submitted it. */
export interface RegistrationResult extends DutyOutcome {
  duty: "builder_registration";
  slot: number;
  pubkey: string;
  /** UNKNOWN_VALIDATOR while the validator has no index on chain (a pending validator is registered all the same). */
  validatorIndex: number;
  /** The registration's timestamp (seconds): its epoch's start. */
  timestamp: number;
  /** ms from the slot's signing moment to the end of each stage reached. */
  stages: {recover?: number; submit?: number};
}

export interface RegistrationServiceOptions {
  beacon: BeaconNode;
  exchange: SignatureExchange;
  shares: PublicShare[];
  /** The lock's fee recipient of each validator (public key to address, both lower-case hex). */
  feeRecipients: ReadonlyMap<string, string>;
  /** The lock's gas limit of each validator (public key to gas); DEFAULT_GAS_LIMIT for one not listed. */
  gasLimits: ReadonlyMap<string, number>;
  n: number;
  logger: Logger;
  onResult(r: RegistrationResult): void;
}

/**
 * Builder registrations (builder-specs `registerValidator`, what MEV-boost passes to the relays): every epoch, each
 * validator's registration is threshold-signed by the cluster and sent to every beacon node. A relay keeps the
 * newest registration of a key, so the timestamp is what the cluster must agree on: it is the epoch's start,
 * which every node derives from the slot clock, so the nodes sign the same message without a consensus round.
 * Re-signed every epoch, the cluster's registration is always newer than one made before its keys were split
 * (a solo validator client's, with the old fee recipient), which a fixed timestamp (the lock's, say) would lose
 * to. The validators are spread over the epoch's slots by their place in the lock, so an epoch's signatures cost
 * what a slot's attestations do. At start a node also signs, at its first slot, the validators whose place in the
 * epoch had passed, so a cluster started mid-epoch is registered before its first proposal.
 */
export class RegistrationService {
  private readonly timers = new DutyTimers();
  private readonly indices = new Map<string, number>();

  constructor(private readonly o: RegistrationServiceOptions) {}

  start(): void {
    const {clock} = this.o.beacon;
    this.every(clock.currentSlot(), true);
  }

  stop(): void {
    this.timers.stop();
  }

  /**
   * Signs at `slot`'s signing moment, or the next one still ahead, and then every slot. The first also catches up
   * (`atStart`): the validators whose place in this epoch's spread had passed when the node started.
   */
  private every(slot: number, atStart = false): void {
    const {clock} = this.o.beacon;
    const at = clock.slotStartMs(slot) + Math.floor(clock.slotMs * SIGN_AT_SLOT_FRACTION);
    if (at < Date.now()) return this.every(slot + 1, atStart);
    this.timers.at(at, () => {
      this.every(slot + 1);
      const place = slot % SLOTS_PER_EPOCH;
      void this.register(slot, at, (k) => k % SLOTS_PER_EPOCH === place);
      if (atStart && place > 0) void this.catchUp(slot, at, place);
    });
  }

  /**
   * The validators of every place in this epoch before `place`, signed at `slot`: one batch per place, the size a
   * slot's registrations always have, so a 10,000-validator cluster's catch-up is never one partial_sig chunk over
   * the 1 MiB a chunk may carry. A cluster starting together signs it together. A node restarting alone in a
   * running cluster catches up alone: the others registered those validators at their places already, no
   * threshold comes, and that is no duty failed (each is registered again at its place next epoch): a log line.
   */
  private async catchUp(slot: number, at: number, place: number): Promise<void> {
    const places = Array.from({length: place}, (_, p) => p);
    const recovered = await Promise.all(
      places.map((p) => this.register(slot, at, (k) => k % SLOTS_PER_EPOCH === p, true)),
    );
    const validators = recovered.reduce((a, r) => a + r.tried, 0);
    if (validators > 0 && recovered.every((r) => r.recovered === 0))
      this.o.logger.info("start-up builder registrations not recovered; each validator is registered at its place", {
        slot,
        validators,
        reason: "the other nodes registered them at their places this epoch, or started in another slot",
      });
  }

  /** The registration every node signs for `pubkey` in `epoch`. */
  static registration(
    pubkey: string,
    feeRecipient: string,
    gasLimit: number,
    epochStartMs: number,
  ): bellatrix.ValidatorRegistrationV1 {
    return {
      feeRecipient: fromHex(feeRecipient),
      gasLimit,
      timestamp: Math.floor(epochStartMs / 1000),
      pubkey: fromHex(pubkey),
    };
  }

  /**
   * Signs, recovers and submits the registrations of the validators whose place in the lock `placed` holds, under
   * `slot`'s exchange key; says how many it tried and recovered. A catch-up that recovered none reports no result
   * (see catchUp).
   */
  private async register(
    slot: number,
    startedAt: number,
    placed: (k: number) => boolean,
    catchUp = false,
  ): Promise<{tried: number; recovered: number}> {
    const {beacon, exchange, feeRecipients, logger} = this.o;
    const mine = this.o.shares.filter((_, k) => placed(k));
    if (mine.length === 0) return {tried: 0, recovered: 0};
    const epochStartMs = beacon.clock.slotStartMs(beacon.clock.epochOf(slot) * SLOTS_PER_EPOCH);
    const messages = mine.map((share) =>
      RegistrationService.registration(
        share.pubkey,
        feeRecipients.get(share.pubkey) as string,
        this.o.gasLimits.get(share.pubkey) ?? DEFAULT_GAS_LIMIT,
        epochStartMs,
      ),
    );
    // Two slots, as the exchange accepts partials that far from its current slot: a node a slot behind still counts.
    const deadline = this.timers.deadline(beacon.clock.slotStartMs(slot + 2), "registration window ended");
    const recovered = exchange.signAndExchangeAll(
      "builder_registration",
      slot,
      mine.map((share, k) => ({
        share,
        message: validatorRegistrationSigningRoot(beacon.config, messages[k] as bellatrix.ValidatorRegistrationV1),
      })),
      deadline,
    );
    const settled = await Promise.allSettled(recovered);
    const recoveredAt = Date.now() - startedAt;
    const done = {tried: mine.length, recovered: settled.filter((x) => x.status === "fulfilled").length};
    if (catchUp && done.recovered === 0) return done;
    await this.lookUpIndices(mine.map((s) => s.pubkey));
    const result = (
      k: number,
      r: Omit<RegistrationResult, "duty" | "slot" | "pubkey" | "validatorIndex" | "timestamp">,
    ) => {
      const pubkey = (mine[k] as PublicShare).pubkey;
      this.o.onResult({
        duty: "builder_registration",
        slot,
        pubkey,
        validatorIndex: this.indices.get(pubkey) ?? UNKNOWN_VALIDATOR,
        timestamp: Math.floor(epochStartMs / 1000),
        ...r,
      });
    };
    const signed: {k: number; registration: bellatrix.SignedValidatorRegistrationV1}[] = [];
    settled.forEach((s, k) => {
      if (s.status === "rejected")
        return result(k, {...exchangeFailure(this.o.n, s.reason, "builder registration signature"), stages: {}});
      signed.push({k, registration: {message: messages[k] as bellatrix.ValidatorRegistrationV1, signature: s.value}});
    });
    if (signed.length === 0) return done;
    try {
      await beacon.registerValidator(signed.map((x) => x.registration));
      const submitted = Date.now() - startedAt;
      for (const {k} of signed) result(k, {status: "submitted", stages: {recover: recoveredAt, submit: submitted}});
    } catch (e) {
      const detail = `no beacon node took the registrations: ${errorMessage(e)}`;
      for (const {k} of signed)
        result(k, {status: "failed", reason: "submit_failed", detail, stages: {recover: recoveredAt}});
      logger.warn("builder registrations not submitted", {slot, validators: signed.length}, e);
    }
    return done;
  }

  /** Best effort: a validator's index names it in results; registering it needs none. */
  private async lookUpIndices(pubkeys: string[]): Promise<void> {
    const missing = pubkeys.filter((p) => !this.indices.has(p));
    if (missing.length === 0) return;
    try {
      for (const [pubkey, index] of await this.o.beacon.validatorIndices(missing)) this.indices.set(pubkey, index);
    } catch {
      // Unknown for now: the results say so (UNKNOWN_VALIDATOR) and the next epoch asks again.
    }
  }
}
