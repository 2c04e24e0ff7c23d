import type {AttestationCheckpoints} from "../../src/roles/evm/blockVerifier.js";
import type {BlockVerdict} from "../../src/roles/evm/verdict.js";
import {PeerViews} from "../../src/roles/evm/peerViews.js";
import {VerdictBook} from "../../src/roles/evm/verdictBook.js";
import type {VerdictSource} from "../../src/roles/evm/verdictSource.js";

const TIMINGS = {slotsMs: 0, signaturesMs: 0, blockMs: 0, hashMs: 0, totalMs: 0};

/**
 * The EVM role's verdicts as a test scripts them, for unit tests of the duties in `--verify enforce` (the
 * follower itself is tested on a spawned devnet): verdicts set by hand into the follower's own VerdictBook,
 * checkpoints by root, and `follow` recording what the duties asked to have judged.
 */
export class VerdictTwin implements VerdictSource {
  readonly verdicts = new VerdictBook();
  /** Peers' views, recorded by hand as the store would from `eth_block` chunks. */
  readonly peers = new PeerViews();
  readonly checkpointsOf = new Map<string, AttestationCheckpoints>();
  readonly followed: string[] = [];
  private readonly listeners = new Set<(v: BlockVerdict) => void>();

  verified(root: string, slot: number, parentRoot = "0x00"): void {
    this.set({status: "verified", root, slot, parentRoot, stateRoot: "0x00", timings: TIMINGS});
  }

  invalid(root: string, slot: number, parentRoot = "0x00"): void {
    const detail = "the block says state root 0xbd.., the state transition gives 0x12..";
    this.set({status: "invalid", reason: "bad_state_root", detail, root, slot, parentRoot});
  }

  set(v: BlockVerdict): void {
    this.verdicts.set(v);
    for (const l of this.listeners) l(v);
  }

  verdict(root: string): BlockVerdict | undefined {
    return this.verdicts.get(root);
  }

  anchor(): null {
    return null;
  }

  newestVerified(maxSlot: number): {root: string; slot: number} | undefined {
    return this.verdicts.newestVerified(maxSlot);
  }

  /** Records `origins`' view that `root` is valid, as their `eth_block` chunks would. */
  validAt(root: string, slot: number, origins: number[]): void {
    for (const origin of origins)
      this.peers.record(origin, {slot, root, parentRoot: `0x${"00".repeat(32)}`, verdict: "valid"});
  }

  validByPeers(root: string): number[] {
    return this.peers.validBy(root);
  }

  onPeerView(listener: (root: string) => void): () => void {
    return this.peers.onView((_o, v) => listener(v.root));
  }

  follow(root: string): void {
    this.followed.push(root);
  }

  onVerdict(listener: (v: BlockVerdict) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async checkpoints(root: string): Promise<AttestationCheckpoints | null> {
    return this.checkpointsOf.get(root) ?? null;
  }
}
