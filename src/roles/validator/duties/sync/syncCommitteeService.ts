import {SLOTS_PER_EPOCH} from "@lodestar/params";
import type {altair} from "@lodestar/types";
import {errorMessage} from "../../../../util/errors.js";
import {DUTY_TYPES} from "../../dutyTypes.js";
import {syncCommitteeMessageSigningRoot} from "../../signing/signingRoots.js";
import {type DutyOutcome, exchangeFailure} from "../../tracking/outcome.js";
import type {PublicShare} from "../../signing/shareKeys.js";
import {type DutyServiceOptions, SlotDutyService} from "../../schedule/slotDutyService.js";
import {SubmitBatcher} from "../../beacon/submitBatcher.js";
import type {SyncDuties} from "./syncDuties.js";
import {fromHex, toHex} from "../../../../hotpath/bytes.js";
import type {ValueRefusal} from "../../consensus/types.js";
import type {HeadReplacement} from "../../verifiedChain/headGuard.js";

/**
 * Attestations first: both are due at 1/3 of the slot and share the node's BLS worker, and an attestation is
 * worth far more than a sync message. Sync messages start 1/12 slot later (1 s on mainnet, 167 ms on a 2 s
 * devnet), so the slot's attestation partials are recovered ahead of the committee's messages, which still
 * have a quarter slot before contributions are fetched at 2/3.
 */
const ATTESTATIONS_FIRST_SLOT_FRACTION = 1 / 12;

export interface SyncMessageResult extends DutyOutcome {
  duty: "sync_message";
  slot: number;
  pubkey: string;
  validatorIndex: number;
  /** ms from the message due time (1/3 slot) to the end of each stage reached. */
  stages: {fetch?: number; consensus?: number; recover?: number; submit?: number};
  round?: number;
  /** `--verify enforce`: this node's beacon node named a head it did not verify, and it proposed this one. */
  headReplaced?: HeadReplacement;
}

/** What both sync committee services need. */
export interface SyncServiceOptions extends DutyServiceOptions {
  /** The cluster's sync committee seats, shared by the message and contribution duties. */
  duties: SyncDuties;
}

export interface SyncCommitteeServiceOptions extends SyncServiceOptions {
  onResult(r: SyncMessageResult): void;
}

/**
 * Sync committee messages every slot (Altair and later): at 1/3 of the slot each node reads its beacon node's
 * head root, the cluster agrees on one root by QBFT (partials over different roots never recover), every
 * member's share signs it, and the recovered signatures are submitted in one request. Not slashable, so no
 * slashing-protection record; agreement is what makes the partials combine.
 */
export class SyncCommitteeService extends SlotDutyService {
  private readonly submitter: SubmitBatcher<altair.SyncCommitteeMessage>;

  constructor(private readonly o: SyncCommitteeServiceOptions) {
    super("sync_message", o);
    this.submitter = new SubmitBatcher((msgs) => o.beacon.submitSyncCommitteeMessages(msgs));
  }

  /**
   * Any 32-byte root: which block is the head is the beacon nodes' view, and a vote for it is not slashable;
   * with `--verify enforce`, only a root this node verified.
   */
  protected isValidValue(_slot: number, value: Uint8Array): boolean | ValueRefusal {
    if (value.length !== 32) return false;
    return this.o.headGuard?.refusal(toHex(value)) ?? true;
  }

  protected slot(slot: number): void {
    if (!this.o.duties.active(slot)) return;
    const known = this.o.duties.ensure(Math.floor(slot / SLOTS_PER_EPOCH));
    this.timers.at(
      this.dueMs(slot) + this.o.beacon.clock.slotMs * ATTESTATIONS_FIRST_SLOT_FRACTION,
      () =>
        void known
          .then(() => this.run(slot))
          .catch((e) => this.o.logger.error("sync committee duty failed", {slot}, e)),
    );
    this.o.duties.prune(slot - 2);
  }

  /** Nodes that wait for a late block start consensus as late as half the slot. */
  private latestStartMs(slot: number): number {
    return this.o.beacon.clock.slotStartMs(slot) + this.o.beacon.clock.slotMs / 2;
  }

  /**
   * Round 1 runs until a round-length after the latest start, so nodes that waited for a late block do not
   * begin in a round that has already timed out (and change rounds together instead of deciding).
   */
  protected override roundsFromMs(slot: number): number {
    return this.latestStartMs(slot);
  }

  /**
   * The head root to sign. If the slot's block has not arrived by the due time, wait for it a little: the
   * next block's sync aggregate must sign its parent, so a message over the previous head is wasted whenever
   * the late block is built on. Polled every 1/24 slot (0.5 s on mainnet, a few polls in all) until half the
   * slot, which still leaves a sixth of it to agree, sign and submit before contributions are fetched at 2/3.
   */
  private async headRoot(slot: number): Promise<Uint8Array> {
    const {beacon} = this.o;
    const until = this.latestStartMs(slot);
    for (;;) {
      const head = await beacon.headBlock();
      if (head.slot >= slot || Date.now() + beacon.clock.slotMs / 24 > until) return head.root;
      await new Promise((r) => setTimeout(r, beacon.clock.slotMs / 24));
    }
  }

  private async run(slot: number): Promise<void> {
    let headReplaced: HeadReplacement | undefined;
    const result = (
      m: {pubkey: string; validatorIndex: number},
      r: Omit<SyncMessageResult, "duty" | "slot" | "pubkey" | "validatorIndex">,
    ) =>
      this.o.onResult({
        duty: "sync_message",
        slot,
        pubkey: m.pubkey,
        validatorIndex: m.validatorIndex,
        ...(headReplaced ? {headReplaced} : {}),
        ...r,
      });
    const unknown = this.o.duties.fetchFailure(slot);
    if (unknown) {
      for (const v of unknown.validators)
        if (this.sharesByPubkey.has(v.pubkey))
          result(v, {
            status: "failed",
            reason: "duty_fetch_failed",
            detail: `sync committee duties not fetched: ${unknown.reason}`,
            stages: {},
          });
      return;
    }
    const members = this.o.duties.at(slot)?.filter((m) => this.sharesByPubkey.has(m.pubkey));
    if (!members || members.length === 0) return;
    const {beacon} = this.o;
    const due = this.dueMs(slot);
    const stages: SyncMessageResult["stages"] = {};
    let root: Uint8Array;
    try {
      root = await this.headRoot(slot);
    } catch (e) {
      for (const m of members)
        result(m, {status: "failed", reason: "beacon_unavailable", detail: errorMessage(e), stages});
      return;
    }
    if (this.o.headGuard) {
      const choice = await this.o.headGuard.head(toHex(root), slot, this.headVerifiedBy(Date.now()));
      if ("refused" in choice) {
        for (const m of members) result(m, {status: "failed", ...choice.refused, stages});
        return;
      }
      root = fromHex(choice.root);
      headReplaced = choice.replaced;
    }
    stages.fetch = Date.now() - due;
    const deadline = this.timers.deadline(beacon.clock.slotStartMs(slot + 1), "slot ended");
    const decided = await this.decide(slot, root, deadline);
    if (decided.failure) {
      for (const m of members) result(m, {...decided.failure, stages});
      return;
    }
    const unverified = await this.o.headGuard?.signable([toHex(decided.value)], this.headVerifiedBy(Date.now()));
    if (unverified) {
      for (const m of members) result(m, {status: "failed", ...unverified, stages, round: decided.round});
      return;
    }
    stages.consensus = Date.now() - due;
    this.o.decided.set("sync_message", slot, decided.value);
    const signingRoot = syncCommitteeMessageSigningRoot(beacon.config, slot, decided.value);
    const recovered = this.o.exchange.signAndExchangeAll(
      "sync_message",
      slot,
      members.map((m) => ({share: this.sharesByPubkey.get(m.pubkey) as PublicShare, message: signingRoot})),
      deadline,
    );
    // Contributions are fetched when they are due: a message recovered after that reaches only the next proposer directly.
    const lateAfter = beacon.clock.dueMs(DUTY_TYPES.sync_message.lateAt, slot);
    await Promise.all(
      members.map(async (m, k) => {
        const own: SyncMessageResult["stages"] = {...stages};
        let signature: Uint8Array;
        try {
          signature = await (recovered[k] as Promise<Uint8Array>);
          own.recover = Date.now() - due;
        } catch (e) {
          return result(m, {
            ...exchangeFailure(this.o.n, e, "sync committee message signature"),
            stages: own,
            round: decided.round,
          });
        }
        try {
          await this.submitter.add({slot, beaconBlockRoot: decided.value, validatorIndex: m.validatorIndex, signature});
          own.submit = Date.now() - due;
          const late = Date.now() > lateAfter;
          result(m, {
            status: late ? "late" : "submitted",
            stages: own,
            round: decided.round,
            ...(late
              ? {detail: `submitted ${own.submit} ms after the due time, after the contributions were fetched`}
              : {}),
          });
        } catch (e) {
          result(m, {
            status: "failed",
            reason: "submit_failed",
            detail: errorMessage(e),
            stages: own,
            round: decided.round,
          });
        }
      }),
    );
  }
}
