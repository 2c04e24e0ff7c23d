import type {AttestationCheckpoints} from "./blockVerifier.js";
import type {BlockVerdict} from "./verdict.js";

/**
 * What the EVM role offers the validator role for `--verify enforce` (followerVerdicts.ts answers it from the
 * chain follower and the peers' `eth_block` chunks): this node's verdict per block root, its peers' views, a way
 * to have a root judged now, and the checkpoints a vote for a verified block carries. The duties see this contract, never the follower, so they are tested on a
 * twin.
 */
export interface VerdictSource {
  verdict(root: string): BlockVerdict | undefined;
  /** The block the follower's state was bootstrapped from: trusted as the finalized anchor, never verified. */
  anchor(): {root: string; slot: number} | null;
  /** The verified block with the highest slot at or before `maxSlot`, if any. */
  newestVerified(maxSlot: number): {root: string; slot: number} | undefined;
  /** Asks for `root` to be judged now: a duty may name a head the follower has not heard announced yet. */
  follow(root: string): void;
  /** Calls `listener` with every verdict from now on; returns its removal. */
  onVerdict(listener: (v: BlockVerdict) => void): () => void;
  /** The peers (operator indices) whose newest `eth_block` view of `root` is `valid`. */
  validByPeers(root: string): number[];
  /** Calls `listener` with the root of every peer view from now on; returns its removal. */
  onPeerView(listener: (root: string) => void): () => void;
  /** The source and target a vote at `slot` naming the verified block `root` carries; null when unknown. */
  checkpoints(root: string, slot: number): Promise<AttestationCheckpoints | null>;
}
