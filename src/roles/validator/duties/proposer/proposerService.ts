import {toHex} from "../../../../hotpath/bytes.js";
import {errorMessage} from "../../../../util/errors.js";
import {type ProposedBlock, type ProposerDuty, isBlinded} from "../../beacon/types.js";
import {DUTY_TYPES} from "../../dutyTypes.js";
import {blindedBlockSigningRoot, blockSigningRoot, randaoSigningRoot} from "../../signing/signingRoots.js";
import {blockOf, decodeBlockValue, encodeBlockValue} from "./blockValue.js";
import type {PublicShare} from "../../signing/shareKeys.js";
import {EpochDuties} from "../../schedule/epochDuties.js";
import {type DutyServiceOptions, SlotDutyService} from "../../schedule/slotDutyService.js";
import {type DutyOutcome, type FailureReason, exchangeFailure} from "../../tracking/outcome.js";
import {type ProposalRefusal, type ProposalRefusalReason, checkProposal} from "./proposalCheck.js";
import type {HeadRefusal, HeadRefusalReason} from "../../verifiedChain/headGuard.js";
import {UNKNOWN_VALIDATOR} from "../../tracking/dutyFetchFailures.js";
import {type ProposalStage, proposalBudgetMs, stagesOverBudget} from "./proposalBudget.js";

/** The graffiti r3dv blocks carry, so a cluster's blocks are recognisable on explorers. */
const GRAFFITI = "r3dv";

/**
 * When, in the slot before a proposal, its randao reveal is threshold-signed: after that slot's attestations
 * (due at 1/3) and before its aggregations (2/3). The reveal signs only the epoch, so it can be made ahead, and
 * made at the proposal's slot start it cost 130-780 ms on a 2 s devnet slot (the slot start's busiest moment:
 * selection proofs, sync messages and duty fetches share the exchange and the worker pool), which pushed
 * most blocks past the attestation due time.
 */
const RANDAO_AHEAD_AT_SLOT_FRACTION = 1 / 2;
/**
 * Consensus rounds on a block start this far into the slot, or when this node has its own block if that is
 * later: the leader first has its beacon node build the block (100-400 ms measured on the loaded devnet), so a
 * round 1 counted from the slot start (1/8 of it) expired before any leader had a block, and every proposal took
 * two or three rounds. 1/12 is 1 s on mainnet, where a local block takes a few hundred ms. Counted from a fixed
 * 1/12 alone, round 1 still ended (417 ms into a 2 s slot) before the slowest blocks, those of epoch boundaries
 * built in 300-350 ms, were agreed: they went to round 2 and were published after the epoch's first attesters
 * had voted with the previous target (one slot of attestations lost in CI and in the main job). A frozen
 * leader's round ends 1/8 of a slot after the others have their blocks; a crashed one's is skipped at once
 * (consensus/driver.ts). Tried and reverted: a fixed 1/6, which delayed every round 2, also after fast blocks.
 */
const PROPOSAL_ROUNDS_FROM_SLOT_FRACTION = 1 / 12;

/**
 * What of the slot a proposal whose parent was verified late keeps for consensus, signing and publishing before
 * its block would be late (1/12: 1 s on mainnet, 333 ms at the devnet's 4 s slots, where a proposal takes
 * 100-250 ms from its block to its publication).
 */
const PARENT_VERIFY_MARGIN_SLOT_FRACTION = 1 / 12;

export interface ProposalResult extends DutyOutcome {
  duty: "proposer";
  slot: number;
  pubkey: string;
  validatorIndex: number;
  /** ms from slot start to the end of each stage reached. */
  stages: Partial<Record<ProposalStage, number>>;
  /** The stages that ended after their budget (proposalBudget.ts), in stage order. */
  overBudget?: ProposalStage[];
  round?: number;
  /** Proposals this node refused in the slot's consensus: whose, in which round, and why. */
  refused?: RefusedProposal[];
  /**
   * With the builder API: whether the agreed block is a builder's (blinded, published for the builder to reveal) or
   * one a beacon node built itself, and, when this node's own fetch fell back to a local block, why.
   */
  path?: "builder" | "local";
  pathDetail?: string;
}

export interface RefusedProposal {
  from: number;
  round: number;
  reason: ProposalRefusalReason | HeadRefusalReason;
  detail: string;
}

export interface ProposerServiceOptions extends DutyServiceOptions {
  /** The lock's fee recipient of each validator (public key to address, both lower-case hex). */
  feeRecipients: ReadonlyMap<string, string>;
  onResult(r: ProposalResult): void;
  /**
   * The builder API (`--builder on`): blocks are asked for through it, a builder's bid weighted by `boostFactor`
   * percent against the beacon node's own block (`--builder-boost-factor`, the Beacon API's builder_boost_factor).
   */
  builder?: {boostFactor: bigint};
}

/**
 * Block proposals (DESIGN.md): a randao reveal threshold-signed over the epoch, the block built by each
 * node's beacon node, one block agreed by QBFT (the leader's, if it pays the lock's fee recipient and builds
 * on this node's head), slashing protection, the block threshold-signed and published. Proposals start at the
 * slot start; the whole duty must fit in the slot.
 */
export class ProposerService extends SlotDutyService {
  private readonly duties: EpochDuties<ProposerDuty>;
  /**
   * Per slot, every head root this node's beacon node gave while the slot's consensus ran: its own block's
   * parent, plus the head read again after each refused parent. A proposal must build on one of them.
   * Tolerance: a leader whose beacon node saw a newer block than ours is refused in its round, but the refusal
   * re-reads our head, so once our beacon node has that block a later round's proposal on it is accepted (and
   * the other nodes, if a quorum has it, decide without us). Accepting any recent ancestor instead would let a
   * byzantine leader orphan the newest block, which is what the check is for.
   */
  private readonly heads = new Map<number, Set<string>>();
  private readonly refusals = new Map<number, RefusedProposal[]>();
  private readonly headReads = new Set<number>();
  /** Randao reveals made in the slot before their proposal, by `${slot}/${pubkey}`. */
  private readonly randaos = new Map<string, {slot: number; reveal: Promise<Uint8Array>}>();
  /** When this node had its own block for a slot: its consensus rounds are counted from then at the earliest. */
  private readonly blockAt = new Map<number, number>();

  constructor(private readonly o: ProposerServiceOptions) {
    super("proposer", o);
    this.duties = new EpochDuties({
      duty: "proposer",
      // Every validator's proposals of the epoch: only ours are kept.
      fetch: async (epoch) => {
        const {dependentRoot, duties} = await o.beacon.proposerDuties(epoch);
        const ours = duties
          .map((d) => ({...d, pubkey: d.pubkey.toLowerCase()}))
          .filter((d) => this.sharesByPubkey.has(d.pubkey));
        return {dependentRoot, duties: ours};
      },
      logger: o.logger,
      onFetchedLate: (d, outcome) =>
        o.onResult({
          duty: "proposer",
          slot: d.slot,
          pubkey: d.pubkey,
          validatorIndex: d.validatorIndex,
          stages: {},
          ...outcome,
        }),
    });
  }

  /**
   * Until when a proposal waits for its parent to be verified (`--verify enforce`). Unlike a vote, a block has no
   * stand-in (the beacon node builds on its own head), so giving up loses the proposal: it waits until just before
   * the block would be late, leaving PARENT_VERIFY_MARGIN_SLOT_FRACTION of the slot for consensus, signing and
   * publishing. On a loaded machine a block's verification can take seconds (2.3 s p99 with a core busy).
   */
  private parentVerifiedBy(slot: number): number {
    const lateMs = this.clock.dueMs(DUTY_TYPES.proposer.lateAt, slot);
    return Math.max(this.headVerifiedBy(Date.now()), lateMs - this.clock.slotMs * PARENT_VERIFY_MARGIN_SLOT_FRACTION);
  }

  /** Asked only once this node started the instance, that is once it has its block (QbftInstance). */
  protected override roundsFromMs(slot: number): number {
    return Math.max(
      this.clock.slotStartMs(slot) + this.clock.slotMs * PROPOSAL_ROUNDS_FROM_SLOT_FRACTION,
      this.blockAt.get(slot) ?? 0,
    );
  }

  protected isValidValue(
    slot: number,
    value: Uint8Array,
    from: number,
    round: number,
  ): boolean | ProposalRefusal | HeadRefusal {
    const p = decodeBlockValue(this.o.beacon.config, slot, value);
    const duty = this.duties.at(slot)?.[0];
    if (p === null || blockOf(p).slot !== slot || (duty && blockOf(p).proposerIndex !== duty.validatorIndex))
      return false;
    // A builder's block from a node of a cluster that runs without the builder API: not what this operator chose.
    if (isBlinded(p) && !this.o.builder) return false;
    const feeRecipient = duty && this.o.feeRecipients.get(duty.pubkey);
    const heads = this.heads.get(slot);
    // Proposals are judged after this node started the slot's instance with its own block (so with a duty
    // and a head); a node that never started cannot judge, and only follows a quorum's decision.
    if (!feeRecipient || !heads) return true;
    const refusal =
      checkProposal(p, {feeRecipient, heads}) ?? this.o.headGuard?.refusal(toHex(blockOf(p).parentRoot)) ?? null;
    if (!refusal) return true;
    this.refusedIn(slot).push({from, round, ...refusal});
    if (refusal.reason === "wrong_parent") void this.rereadHead(slot);
    return refusal;
  }

  private refusedIn(slot: number): RefusedProposal[] {
    let list = this.refusals.get(slot);
    if (!list) this.refusals.set(slot, (list = []));
    return list;
  }

  /** Reads the head again after a refused parent (one read at a time per slot): a later round may build on it. */
  private async rereadHead(slot: number): Promise<void> {
    if (this.headReads.has(slot)) return;
    this.headReads.add(slot);
    try {
      const head = await this.o.beacon.headBlock();
      this.heads.get(slot)?.add(toHex(head.root).toLowerCase());
    } catch (e) {
      this.o.logger.debug("head not read again after a refused parent", {slot}, e);
    } finally {
      this.headReads.delete(slot);
    }
  }

  protected slot(slot: number): void {
    // Fetched at the epoch start and again mid-epoch: proposer duties depend on the previous epoch's last block.
    // The epoch-start refresh (reorg check) need not delay a proposal whose duty the slot before already knew:
    // were the proposer changed, our block's proposer index would fail the value check, and nothing is signed.
    void this.duties.forSlot(slot).then(async () => {
      // Slot 0 is the genesis block's: nobody proposes there.
      if (slot === 0) return;
      if (!this.duties.known(this.clock.epochOf(slot))) return this.duties.ranBlind(slot);
      const duty = this.duties.at(slot)?.[0];
      if (duty) await this.propose(slot, duty);
    });
    this.timers.at(
      this.clock.slotStartMs(slot) + this.clock.slotMs * RANDAO_AHEAD_AT_SLOT_FRACTION,
      () => void this.revealAhead(slot + 1),
    );
    // Two slots late, like the pruning below, so a slot whose fetch answered late is marked first.
    this.reportUnfetched(this.clock.epochOf(slot - 2));
    for (const m of [this.heads, this.refusals, this.blockAt]) for (const s of m.keys()) if (s < slot - 2) m.delete(s);
    this.duties.prune(slot - 2);
    for (const [k, r] of this.randaos) if (r.slot < slot) this.randaos.delete(k);
    this.o.driver.prune(slot - 2);
    this.o.exchange.prune(slot - 2);
  }

  /**
   * The next slot's randao reveal, if one of our validators proposes there. For a slot in the next epoch its
   * duties are asked for now; a beacon node that cannot tell them yet is asked again at the epoch start (the
   * reveal is then made there), so that failure is not the epoch's duty fetch failure.
   */
  private async revealAhead(slot: number): Promise<void> {
    await this.duties.ensure(this.clock.epochOf(slot), false, true);
    const duty = this.duties.at(slot)?.[0];
    if (!duty || slot === 0 || this.timers.isStopped) return;
    const reveal = this.exchangeReveal(
      slot,
      this.sharesByPubkey.get(duty.pubkey) as PublicShare,
      this.timers.deadline(this.clock.slotStartMs(slot + 1), "slot ended"),
    );
    // Its failure is the proposal's to report (it asks again at its slot start).
    reveal.catch(() => undefined);
    this.randaos.set(`${slot}/${duty.pubkey}`, {slot, reveal});
  }

  /** The proposal's randao reveal: this node's share signs the slot's epoch, and a threshold recovers it. */
  private exchangeReveal(slot: number, share: PublicShare, deadline: Promise<never>): Promise<Uint8Array> {
    const message = randaoSigningRoot(this.o.beacon.config, this.clock.epochOf(slot));
    return this.o.exchange.signAndExchange("randao", slot, {share, message}, deadline);
  }

  /**
   * Epochs that ended without their proposer duties ever fetched. Unlike attesting, proposing is rare (a
   * validator of a large chain proposes a few times a year), so one result per validator would invent
   * failures of duties that mostly never were, and none would hide that the node was blind. One epoch-wide
   * result (no validator, UNKNOWN_VALIDATOR) says "this node could not tell whether it had to propose":
   * counted once per epoch in the metrics and the report, and shown by `r3dv duty` for every blind slot.
   */
  private reportUnfetched(beforeEpoch: number): void {
    for (const u of this.duties.takeUnfetched(beforeEpoch)) {
      this.o.onResult({
        duty: "proposer",
        slot: u.window.from,
        pubkey: "",
        validatorIndex: UNKNOWN_VALIDATOR,
        stages: {},
        ...u.outcome,
      });
    }
  }

  private async propose(slot: number, duty: ProposerDuty): Promise<void> {
    const {beacon} = this.o;
    const start = beacon.clock.slotStartMs(slot);
    const share = this.sharesByPubkey.get(duty.pubkey) as PublicShare;
    const result: ProposalResult = {
      duty: "proposer",
      slot,
      pubkey: duty.pubkey,
      validatorIndex: duty.validatorIndex,
      status: "failed",
      stages: {},
    };
    const refused = this.refusedIn(slot);
    const report = (outcome: DutyOutcome) => {
      const overBudget = stagesOverBudget(result.stages, this.clock.slotMs);
      if (overBudget.length > 0)
        this.o.logger.warn("proposal stages over budget", {slot, stages: result.stages, overBudget, path: result.path});
      this.o.onResult({
        ...result,
        ...(refused.length > 0 ? {refused: [...refused]} : {}),
        ...(overBudget.length > 0 ? {overBudget} : {}),
        ...outcome,
      });
    };
    const fail = (reason: FailureReason, e: unknown) => report({status: "failed", reason, detail: errorMessage(e)});
    const deadline = this.timers.deadline(beacon.clock.slotStartMs(slot + 1), "slot ended");
    let randao: Uint8Array;
    try {
      const ahead = this.randaos.get(`${slot}/${duty.pubkey}`)?.reveal.catch(() => undefined);
      randao = (await ahead) ?? (await this.exchangeReveal(slot, share, deadline));
      result.stages.randao = Date.now() - start;
    } catch (e) {
      return report(exchangeFailure(this.o.n, e, "randao reveal"));
    }
    let mine: ProposedBlock;
    try {
      mine = await this.fetchBlock(slot, randao, result);
      result.stages.fetch = Date.now() - start;
    } catch (e) {
      return fail("beacon_unavailable", e);
    }
    const parent = toHex(blockOf(mine).parentRoot).toLowerCase();
    // A block on a parent this node did not verify would extend a chain it cannot vouch for: not signed.
    const unverified = await this.o.headGuard?.settle(parent, this.parentVerifiedBy(slot));
    if (unverified) return report({status: "failed", ...unverified});
    // Round 1 counts from when this node can propose: a parent verified late must not have eaten its round.
    this.blockAt.set(slot, Date.now());
    this.heads.set(slot, new Set([parent]));
    const decided = await this.decide(slot, encodeBlockValue(beacon.config, mine), deadline);
    if (decided.failure) return report(decided.failure);
    result.stages.consensus = Date.now() - start;
    result.round = decided.round;
    const block = decodeBlockValue(beacon.config, slot, decided.value);
    // Unreachable for honest nodes (validity is checked before deciding); a bug, not a peer, if it happens.
    if (!block) return fail("consensus_timeout", new Error("decided value is not a block"));
    const unverifiedParent = await this.o.headGuard?.signable(
      [toHex(blockOf(block).parentRoot)],
      this.parentVerifiedBy(slot),
    );
    if (unverifiedParent) return report({status: "failed", ...unverifiedParent});
    if (this.o.builder) result.path = isBlinded(block) ? "builder" : "local";
    const root = isBlinded(block)
      ? blindedBlockSigningRoot(beacon.config, block.blinded)
      : blockSigningRoot(beacon.config, block.block);
    let signature: Uint8Array;
    try {
      const onSigned = () => (result.stages.sign = Date.now() - start);
      signature = await this.o.exchange.signAndExchange(
        "proposer",
        slot,
        {share, message: root, slashable: {kind: "block", slot}, onSigned},
        deadline,
      );
    } catch (e) {
      return report(exchangeFailure(this.o.n, e, "block signature"));
    }
    const invalid = this.o.exchange.invalidPartials("proposer", slot, duty.pubkey, root);
    if (invalid.length > 0) result.invalidPartials = invalid;
    try {
      if (isBlinded(block)) await beacon.blocks.publishBlindedBlock(block, signature);
      else await beacon.blocks.publishBlock(block, signature);
      const after = Date.now() - start;
      result.stages.submit = after;
      // The slot's attesters have voted for its parent already: likely orphaned, or at least short of their votes.
      const late = Date.now() > beacon.clock.dueMs(DUTY_TYPES.proposer.lateAt, slot);
      report({
        status: late ? "late" : "submitted",
        ...(late
          ? {reason: "late_block" as const, detail: `published ${after} ms into the slot, after the attesters voted`}
          : {}),
      });
    } catch (e) {
      fail("submit_failed", e);
    }
  }

  /**
   * This node's block for the slot. Without the builder API, its beacon node's own. With it, the beacon node's
   * choice between its builder's bid and its own block, unless that takes past the fetch budget (proposalBudget.ts)
   * or fails: then the builder request is abandoned (aborted, so a hanging relay holds no socket), a local block is
   * asked for (builder_boost_factor=0), and the result says why.
   */
  private async fetchBlock(slot: number, randao: Uint8Array, result: ProposalResult): Promise<ProposedBlock> {
    const {beacon, builder} = this.o;
    if (!builder) return beacon.blocks.produceBlock(slot, randao, GRAFFITI);
    const budgetMs = proposalBudgetMs(this.clock.slotMs).fetch;
    const by = this.clock.slotStartMs(slot) + budgetMs;
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<"overrun">((resolve) => {
      timer = setTimeout(() => resolve("overrun"), Math.max(0, by - Date.now()));
    });
    const abandon = new AbortController();
    const viaBuilder = beacon.blocks.produceBuilderBlock(slot, randao, GRAFFITI, builder.boostFactor, abandon.signal);
    viaBuilder.catch(() => undefined);
    let why: string;
    try {
      const first = await Promise.race([viaBuilder, overrun]);
      if (first !== "overrun") {
        if (!isBlinded(first)) result.pathDetail = "the beacon node's own block beat the builder's bid";
        return first;
      }
      abandon.abort();
      why = `the builder path gave no block within ${budgetMs} ms of the slot's start`;
    } catch (e) {
      why = `the builder path failed: ${errorMessage(e)}`;
    } finally {
      clearTimeout(timer);
    }
    result.pathDetail = `${why}; proposed a local block`;
    this.o.logger.warn("builder block not used; proposing a local block", {slot, reason: why});
    return beacon.blocks.produceBlock(slot, randao, GRAFFITI, true);
  }
}
