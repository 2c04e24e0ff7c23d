import type {VerdictSource} from "./verdictSource.js";
import type {AttestationCheckpoints} from "./blockVerifier.js";
import type {ChainFollower} from "./chainFollower.js";
import {PeerViews} from "./peerViews.js";
import type {BlockVerdict} from "./verdict.js";

/**
 * The chain follower as the validator role's verdict source. The duties start before the follower exists (it
 * waits for the beacon node to describe the chain), so they are handed this stand-in at once: until a follower
 * is attached nothing is verified here, which `--verify enforce` treats as unverified unless enough peers'
 * views (`peers`, fed from the store's `eth_block` chunks) say the block is valid.
 */
export class FollowerVerdicts implements VerdictSource {
  private follower: ChainFollower | null = null;
  readonly peers = new PeerViews();
  private readonly listeners = new Set<(v: BlockVerdict) => void>();

  attach(follower: ChainFollower): void {
    this.follower = follower;
    follower.onVerdict((v) => {
      for (const listener of this.listeners) listener(v);
    });
  }

  verdict(root: string): BlockVerdict | undefined {
    return this.follower?.verdict(root);
  }

  anchor(): {root: string; slot: number} | null {
    const a = this.follower?.anchorInfo;
    return a ? {root: a.root, slot: a.slot} : null;
  }

  newestVerified(maxSlot: number): {root: string; slot: number} | undefined {
    return this.follower?.verdicts.newestVerified(maxSlot);
  }

  validByPeers(root: string): number[] {
    return this.peers.validBy(root);
  }

  onPeerView(listener: (root: string) => void): () => void {
    return this.peers.onView((_origin, view) => listener(view.root));
  }

  follow(root: string): void {
    this.follower?.follow(root);
  }

  onVerdict(listener: (v: BlockVerdict) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  checkpoints(root: string, slot: number): Promise<AttestationCheckpoints | null> {
    return this.follower?.checkpoints(root, slot) ?? Promise.resolve(null);
  }
}
