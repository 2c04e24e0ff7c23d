import type {phase0} from "@lodestar/types";
import {fromHex, toHex} from "../../../hotpath/bytes.js";
import type {ValueRefusal} from "../consensus/types.js";
import type {VerdictSource} from "../../evm/verdictSource.js";

/**
 * Why a node does not sign for a head (a duty failure reason and a consensus refusal label):
 * - head_invalid: this node's state transition found the block, or one of its ancestors, invalid;
 * - head_unverified: this node has no verdict on the block (not fetched, no state, still being verified when the
 *   duty had to go on), and fewer than `threshold` peers shared a `valid` view of it.
 */
export type HeadRefusalReason = "head_invalid" | "head_unverified";

export interface HeadRefusal extends ValueRefusal {
  reason: HeadRefusalReason;
}

/** A vote moved from a head this node did not verify to the newest block it did verify. */
export interface HeadReplacement {
  /** The head the beacon node named (0x hex). */
  from: string;
  /** The block voted for instead. */
  to: string;
  toSlot: number;
  reason: HeadRefusalReason;
  detail: string;
}

/** The head to sign for: the one asked about, another one (and why), or none. */
export type HeadChoice = {root: string; replaced?: HeadReplacement} | {refused: HeadRefusal};

/** Attestation data to sign for, heads replaced where needed, or why there is none. */
export type GuardedAttestation =
  {byCommittee: Map<number, phase0.AttestationData>; replaced?: HeadReplacement} | {refused: HeadRefusal};

/**
 * How long past a duty's own start a head may take to be verified before the duty goes on without it (1/24 of
 * the slot: 500 ms on mainnet, 167 ms at the devnet's 4 s slots). Devnet blocks are verified at p99 about 60 ms
 * after they are announced, so only a block arriving at the due time waits; a longer wait would push the slot's
 * signatures later for every validator, and a head still unverified then is voted around, not waited for.
 */
export const HEAD_VERIFY_SLOT_FRACTION = 1 / 24;

export interface HeadGuardOptions {
  /**
   * How many peers' `valid` views stand in for this node's own verdict while its verification lags: the lock's
   * threshold, the number of nodes whose signatures make a signature, so a head is signed only when as many
   * nodes checked it as it takes to sign anything.
   */
  threshold: number;
  /** Told once per head this node signs for on its peers' views, not its own verdict. */
  onPeerAccepted?(root: string, peers: number[]): void;
  /**
   * How many slots older than the duty a stand-in for a head this node could not verify (not one it found
   * invalid) may be; no limit when absent. A head unverifiable here is a local failure (an execution endpoint
   * down or lying, no state), not a client bug: a vote for a block far behind names a target nobody else votes
   * for, and the peers refuse it as a proposal (a consensus round lost whenever this node leads), so past this
   * age the duty fails instead and the nodes that verified sign. A head found invalid keeps its stand-in however
   * old: that is the minority client's vote.
   */
  maxStandInAgeSlots?: number;
}

/** Heads already reported as accepted on peers' views: a duty asks about the same head once per validator. */
const PEER_ACCEPTED_KEPT = 256;

/**
 * "Sign only what was verified" (`--verify enforce`): every head a duty signs for (attestation data, sync
 * committee root, a block's parent) must have been verified by this node's EVM role, or, while this node has no
 * verdict of its own, found valid by `threshold` peers (their `eth_block` chunks). A head this node found
 * invalid is never signed, whatever the peers say. A vote whose head failed,
 * or is still unverified when the duty's budget ends, goes to the newest block this node verified instead: the
 * head a correct client on the minority side of a client bug has, since it never imported the invalid block.
 * With none, the duty fails with the reason. A block is proposed only on a verified parent (no stand-in: the
 * beacon node builds on its own head).
 */
export class HeadGuard {
  private readonly peerAccepted = new Set<string>();

  constructor(
    private readonly source: VerdictSource,
    private readonly opts: HeadGuardOptions,
  ) {}

  /** Null when `root` is signable (verified here, or the trusted anchor, or by `threshold` peers); else why not. */
  refusal(root: string): HeadRefusal | null {
    const r = root.toLowerCase();
    if (this.verified(r)) return null;
    const v = this.source.verdict(r);
    if (v?.status === "invalid")
      return {reason: "head_invalid", detail: `block ${r} at slot ${v.slot} is invalid (${v.reason}): ${v.detail}`};
    const peers = this.source.validByPeers(r);
    if (peers.length >= this.opts.threshold) {
      this.notePeerAccepted(r, peers);
      return null;
    }
    const shared = `${peers.length} of the ${this.opts.threshold} peers' valid views it takes instead`;
    if (v?.status === "unavailable")
      return {
        reason: "head_unverified",
        detail: `block ${r} could not be verified here (${v.reason}): ${v.detail}; ${shared}`,
      };
    return {reason: "head_unverified", detail: `block ${r} was not verified here in time; ${shared}`};
  }

  /**
   * Waits until this node judged `root` (verified, invalid, or unavailable again), or `threshold` peers found it
   * valid, or until `untilMs`.
   */
  async settle(root: string, untilMs: number): Promise<HeadRefusal | null> {
    const r = root.toLowerCase();
    if (this.verified(r) || this.source.verdict(r)?.status === "invalid" || this.peersSuffice(r))
      return this.refusal(r);
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        off();
        offPeers();
        resolve();
      };
      const off = this.source.onVerdict((v) => v.root === r && done());
      const offPeers = this.source.onPeerView((viewRoot) => viewRoot === r && this.peersSuffice(r) && done());
      const timer = setTimeout(done, Math.max(0, untilMs - Date.now()));
      // Listening first, so the verdict of the judging this asks for cannot come before the listener.
      this.source.follow(r);
    });
    return this.refusal(r);
  }

  /** `root` once verified; else the newest block verified here at or before `slot`, or why there is none. */
  async head(root: string, slot: number, untilMs: number): Promise<HeadChoice> {
    const r = root.toLowerCase();
    const refusal = await this.settle(r, untilMs);
    if (!refusal) return {root: r};
    const anchor = this.source.anchor();
    const newest = this.source.newestVerified(slot);
    const instead = newest ?? (anchor && anchor.slot <= slot ? anchor : undefined);
    if (!instead) return {refused: refusal};
    const age = slot - instead.slot;
    if (refusal.reason === "head_unverified" && age > (this.opts.maxStandInAgeSlots ?? Infinity))
      return {
        refused: {
          ...refusal,
          detail: `${refusal.detail}; the newest block verified here (slot ${instead.slot}) is ${age} slots old, too old to vote for instead`,
        },
      };
    return {root: instead.root, replaced: {from: r, to: instead.root, toSlot: instead.slot, ...refusal}};
  }

  /**
   * The slot's attestation data with every head verified: data naming an unverified head is re-pointed at the
   * newest verified block, with that block's own source and target (read off its state), so the
   * vote is the one a beacon node following that block would have produced.
   */
  async attestationData(
    slot: number,
    byCommittee: Map<number, phase0.AttestationData>,
    untilMs: number,
  ): Promise<GuardedAttestation> {
    const out = new Map(byCommittee);
    let replaced: HeadReplacement | undefined;
    const roots = new Set([...byCommittee.values()].map((d) => toHex(d.beaconBlockRoot).toLowerCase()));
    for (const root of roots) {
      const choice = await this.head(root, slot, untilMs);
      if ("refused" in choice) return choice;
      if (!choice.replaced) continue;
      replaced = choice.replaced;
      const cps = await this.source.checkpoints(choice.root, slot);
      if (!cps)
        return {
          refused: {
            reason: choice.replaced.reason,
            detail: `${choice.replaced.detail}; no state kept for ${choice.root} to vote for it instead`,
          },
        };
      for (const [committee, data] of byCommittee) {
        if (toHex(data.beaconBlockRoot).toLowerCase() !== root) continue;
        out.set(committee, {
          slot: data.slot,
          index: data.index,
          beaconBlockRoot: fromHex(choice.root),
          source: {epoch: cps.source.epoch, root: fromHex(cps.source.root)},
          target: {epoch: cps.target.epoch, root: fromHex(cps.target.root)},
        });
      }
    }
    return replaced ? {byCommittee: out, replaced} : {byCommittee: out};
  }

  /**
   * Before signing a decided value: a quorum may decide on a head this node refused (it had not verified it yet),
   * and deciding is no reason to sign. Each head gets until `untilMs` to be verified here; the first that is not
   * is why this node does not sign, and the others' signatures suffice when enough of them verified it.
   */
  async signable(roots: Iterable<string>, untilMs: number): Promise<HeadRefusal | null> {
    for (const root of new Set([...roots].map((r) => r.toLowerCase()))) {
      const refusal = await this.settle(root, untilMs);
      if (refusal)
        return {
          reason: refusal.reason,
          detail: `the cluster decided on a head this node did not verify: ${refusal.detail}`,
        };
    }
    return null;
  }

  /** The first head of a proposed vote this node may not sign for, or null when it may sign them all. */
  attestationRefusal(byCommittee: Map<number, phase0.AttestationData>): HeadRefusal | null {
    for (const data of byCommittee.values()) {
      const refusal = this.refusal(toHex(data.beaconBlockRoot));
      if (refusal) return refusal;
    }
    return null;
  }

  private peersSuffice(root: string): boolean {
    return this.source.validByPeers(root).length >= this.opts.threshold;
  }

  private notePeerAccepted(root: string, peers: number[]): void {
    if (this.peerAccepted.has(root)) return;
    this.peerAccepted.add(root);
    if (this.peerAccepted.size > PEER_ACCEPTED_KEPT)
      this.peerAccepted.delete(this.peerAccepted.values().next().value as string);
    this.opts.onPeerAccepted?.(root, peers);
  }

  private verified(root: string): boolean {
    return this.source.anchor()?.root === root || this.source.verdict(root)?.status === "verified";
  }
}
