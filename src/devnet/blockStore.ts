import type {CachedBeaconStateAllForks} from "@lodestar/state-transition";
import type {SignedBeaconBlock} from "@lodestar/types";
import {toHex} from "../hotpath/bytes.js";

/** What the devnet knows about an imported block, kept for the API, fork choice and the effectiveness report. */
export interface BlockEntry {
  root: Uint8Array;
  rootHex: string;
  slot: number;
  parentRootHex: string;
  signedBlock: SignedBeaconBlock;
  stateRoot: Uint8Array;
  /** Dropped for old blocks to bound memory; only recent states are ever a parent or a duty source. */
  postState: CachedBeaconStateAllForks | null;
  /** Votes this block put on chain: validator -> inclusion facts for the vote's target epoch. */
  inclusions: Inclusion[];
  receivedAtMs: number;
}

export interface Inclusion {
  validatorIndex: number;
  attestationSlot: number;
  targetEpoch: number;
  inclusionSlot: number;
  correctSource: boolean;
  correctTarget: boolean;
  correctHead: boolean;
}

/**
 * Number of recent slots whose post-states stay in memory: two epochs cover every parent a proposer can build on
 * and every duty epoch the API serves; older states are dropped (the genesis and head states always stay).
 */
const STATES_KEPT_SLOTS = 32;

export class BlockStore {
  private readonly byRoot = new Map<string, BlockEntry>();

  add(entry: BlockEntry): void {
    this.byRoot.set(entry.rootHex, entry);
  }

  get(rootHex: string): BlockEntry | undefined {
    return this.byRoot.get(rootHex);
  }

  getByRoot(root: Uint8Array): BlockEntry | undefined {
    return this.byRoot.get(toHex(root));
  }

  /** Walks parent links from `head` back to genesis, newest first. */
  *ancestors(head: BlockEntry): Generator<BlockEntry> {
    let e: BlockEntry | undefined = head;
    while (e) {
      yield e;
      e = this.byRoot.get(e.parentRootHex);
    }
  }

  /** The canonical block at `slot` (or the last one before it if the slot is empty) on the chain of `head`. */
  atOrBefore(head: BlockEntry, slot: number): BlockEntry | undefined {
    for (const e of this.ancestors(head)) if (e.slot <= slot) return e;
    return undefined;
  }

  pruneStates(headSlot: number, keep: Set<string>): void {
    for (const e of this.byRoot.values()) {
      if (e.postState && e.slot > 0 && e.slot < headSlot - STATES_KEPT_SLOTS && !keep.has(e.rootHex))
        e.postState = null;
    }
  }

  all(): IterableIterator<BlockEntry> {
    return this.byRoot.values();
  }
}
