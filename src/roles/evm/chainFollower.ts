import {performance} from "node:perf_hooks";
import type {BeaconConfig} from "@lodestar/config";
import {errorMessage} from "../../util/errors.js";
import type {Logger} from "../../util/logger.js";
import {ExecutionPool} from "../../workers/executionPool.js";
import type {ExecutionInput, ExecutionOutcome} from "./payloadExecutor.js";
import {StateTransitionPool} from "../../workers/stateTransitionPool.js";
import {BeaconReaders} from "./beaconReaders.js";
import {STATES_KEPT, type AnchorInfo, type AttestationCheckpoints} from "./blockVerifier.js";
import {describeChain, type ChainDescription} from "./chainDescription.js";
import {HeadWatcher, type HeadWatcherOptions} from "./headWatcher.js";
import {signedBlockHeader} from "./sszFields.js";
import type {BlockVerdict, UnavailableReason, VerifiedBlock} from "./verdict.js";
import {VerdictBook} from "./verdictBook.js";

/**
 * Most blocks fetched backwards from a new head before the follower gives up on reaching a state it keeps and
 * bootstraps again from the (newer) finalized state. Mainnet finality trails the head by about 64 blocks; four
 * times that covers a finality stall of several epochs, beyond which one state download is cheaper than hundreds
 * of block requests (and a catch-up that long would anyway not finish within a slot).
 */
const MAX_CATCH_UP_BLOCKS = 256;

/** What the follower reports: each verdict (a metric and a log line, see node/records.ts) and each bootstrap. */
export interface ChainFollowerEvents {
  verdict?(v: BlockVerdict): void;
  bootstrap?(anchor: AnchorInfo, seconds: number): void;
}

export interface ChainFollowerOptions {
  /**
   * The beacon nodes to follow (Beacon API base URLs; each label, how logs name it: the URL without credentials).
   * Every node's new heads are followed, and a block or the anchor state is read from whichever node serves it.
   */
  beacons: {url: string; label?: string}[];
  /** The chain as that node describes it (spec and genesis validators root). */
  config: BeaconConfig;
  logger: Logger;
  events?: ChainFollowerEvents;
  /**
   * The state id bootstrapped from: `finalized` by default (the trust anchor, as weak subjectivity has it); any
   * other id the node serves (`genesis`, `head`, a slot) is trusted the same way.
   */
  anchor?: string;
  watch?: Partial<HeadWatcherOptions>;
  /**
   * The execution endpoint (JSON-RPC) a consensus-valid block's payload is re-executed with (payloadExecutor.ts);
   * without one, payloads are taken as given.
   */
  executionRpc?: string;
}

interface FetchedBlock {
  root: string;
  slot: number;
  parentRoot: string;
  bytes: Uint8Array;
}

/**
 * The EVM role's consensus half: follows a beacon node's blocks and gives each a verdict (verdict.ts) from a
 * state transition of its own, run in the state transition thread on states bootstrapped from the node's
 * finalized state and advanced block by block. A block whose parent is not the last one verified (a reorg, a
 * sibling) is verified on its parent's kept state; one whose ancestry leaves the kept states triggers a fresh
 * bootstrap. Blocks are settled one at a time, in the order they were announced.
 */
export class ChainFollower {
  readonly verdicts = new VerdictBook();
  private readonly readers: BeaconReaders;
  private readonly pool = new StateTransitionPool();
  private readonly executor: ExecutionPool | null;
  private readonly watchers: HeadWatcher[];
  private readonly chain: ChainDescription;
  private readonly logger: Logger;
  /** Roots whose post-state the thread keeps, in the thread's own eviction order (see BlockVerifier.keep). */
  private readonly kept = new Set<string>();
  /**
   * Consensus-valid blocks whose payload could not be executed (the endpoint down, slow or lying), executed again
   * whenever the block is asked about (a duty naming it, a head poll): one slow answer must not leave a head
   * unverified for good, and with it every duty that names it. As many as the thread keeps states: an older head
   * is not voted for anyway.
   */
  private readonly unexecuted = new Map<string, {verified: VerifiedBlock; input: ExecutionInput}>();
  private anchor: AnchorInfo | null = null;
  private readonly queue: string[] = [];
  private draining: Promise<void> | null = null;
  private stopped = false;
  /** Who waits for verdicts as they come (the validator role's head guard, in `--verify enforce`). */
  private readonly listeners = new Set<(v: BlockVerdict) => void>();

  constructor(private readonly opts: ChainFollowerOptions) {
    this.logger = opts.logger;
    this.readers = new BeaconReaders(opts.beacons, opts.config);
    this.chain = describeChain(opts.config);
    this.executor = opts.executionRpc ? new ExecutionPool() : null;
    const slotMs = opts.config.SLOT_DURATION_MS;
    this.watchers = this.readers.all.map(
      (reader) =>
        new HeadWatcher(
          reader,
          // One poll per slot: a head is new at most once a slot.
          {events: true, pollIntervalMs: slotMs, ...opts.watch},
          (root) => this.follow(root),
          opts.logger,
        ),
    );
  }

  /** Bootstraps (a failure is retried with the next block) and starts following. */
  async start(): Promise<void> {
    await this.bootstrap().catch((e: unknown) => {
      if (!this.stopped)
        this.logger.warn(
          "chain follower not bootstrapped; retried with the next block",
          {beacons: this.readers.all.map((r) => r.label)},
          e,
        );
    });
    // A stop during the bootstrap (which it aborts) leaves nothing to start.
    if (!this.stopped) for (const w of this.watchers) w.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watchers) w.stop();
    this.readers.close();
    this.queue.length = 0;
    await this.draining;
    await this.pool.close();
    await this.executor?.close();
  }

  /** This node's verdict on a block root, if it judged the block. */
  verdict(root: string): BlockVerdict | undefined {
    return this.verdicts.get(root);
  }

  /** Calls `listener` with every verdict recorded from now on (repeats included); returns its removal. */
  onVerdict(listener: (v: BlockVerdict) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * What an attestation at `slot` naming the verified block `root` votes for, read off the state the thread
   * keeps for it; null when that state is gone (or the block was never verified here).
   */
  async checkpoints(root: string, slot: number): Promise<AttestationCheckpoints | null> {
    const r = root.toLowerCase();
    if (this.stopped || !this.kept.has(r)) return null;
    return this.pool.checkpoints(r, slot);
  }

  /** The block the state was bootstrapped from (trusted, not verified). */
  get anchorInfo(): AnchorInfo | null {
    return this.anchor;
  }

  /** Queues a block root to settle (it and every ancestor it needs); a root already judged is skipped then. */
  follow(root: string): void {
    const r = root.toLowerCase();
    // An event and a poll often name the same head: one queued settle is enough.
    if (this.stopped || this.queue.includes(r)) return;
    this.queue.push(r);
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  /** Resolves once every queued root is settled. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    for (let root = this.queue.shift(); root !== undefined && !this.stopped; root = this.queue.shift()) {
      try {
        await this.settle(root, false);
      } catch (e) {
        this.logger.error("block not settled", {root}, e);
      }
    }
  }

  private async bootstrap(): Promise<void> {
    const id = this.opts.anchor ?? "finalized";
    const t0 = performance.now();
    this.anchor = null;
    this.kept.clear();
    const state = await this.readers.state(id);
    const anchor = await this.pool.bootstrap(this.chain, state);
    this.anchor = anchor;
    this.kept.add(anchor.root);
    const seconds = (performance.now() - t0) / 1000;
    this.logger.debug("chain follower bootstrapped", {stateId: id, ...anchor, seconds});
    this.opts.events?.bootstrap?.(anchor, seconds);
  }

  /**
   * Judges `target` and whichever ancestors lie between it and a kept state: fetched newest first, verified
   * oldest first. A second bootstrap is tried at most once per target.
   */
  private async settle(target: string, rebootstrapped: boolean): Promise<void> {
    const retry = this.unexecuted.get(target);
    if (retry) return this.record(await this.executed(retry.verified, retry.input));
    const known = this.verdicts.get(target);
    if ((known && known.status !== "unavailable") || this.kept.has(target)) return;
    if (!this.anchor) {
      try {
        await this.bootstrap();
      } catch (e) {
        this.record({
          status: "unavailable",
          reason: "no_parent_state",
          detail: `no anchor state: ${errorMessage(e)}`,
          root: target,
        });
        return;
      }
    }
    const anchor = this.anchor as AnchorInfo;
    const pending: FetchedBlock[] = [];
    const again = async (why: string): Promise<boolean> => {
      if (rebootstrapped) return false;
      this.logger.info("chain follower bootstraps again", {target, why});
      this.anchor = null;
      await this.settle(target, true);
      return true;
    };

    for (let root = target; !this.kept.has(root) && this.verdicts.get(root)?.status !== "invalid";) {
      if (this.stopped) return;
      if (pending.length >= MAX_CATCH_UP_BLOCKS) {
        if (await again(`more than ${MAX_CATCH_UP_BLOCKS} blocks from a kept state`)) return;
        return this.unavailable(
          pending,
          "no_parent_state",
          `more than ${MAX_CATCH_UP_BLOCKS} blocks from a kept state`,
        );
      }
      let bytes: Uint8Array | null;
      try {
        bytes = await this.readers.block(root);
      } catch (e) {
        return this.unavailable(pending, "fetch_failed", `block ${root}: ${errorMessage(e)}`, root);
      }
      const h = bytes && signedBlockHeader(bytes);
      if (!bytes || !h) return this.unavailable(pending, "fetch_failed", `block ${root}: not served`, root);
      if (h.slot <= anchor.slot) {
        // The branch leaves the anchor's chain below the anchor: only a newer anchor can say more.
        const why = `block ${root} at slot ${h.slot} is not after the anchor's slot ${anchor.slot}`;
        if (await again(why)) return;
        return this.unavailable(pending, "no_parent_state", why, root);
      }
      pending.unshift({root, bytes, ...h});
      root = h.parentRoot;
    }

    for (const [i, b] of pending.entries()) {
      if (this.stopped) return;
      const rest = pending.slice(i);
      const parent = this.verdicts.get(b.parentRoot);
      if (parent?.status === "invalid") {
        this.record({
          status: "invalid",
          reason: "bad_parent",
          detail: `parent ${b.parentRoot} is invalid (${parent.reason})`,
          slot: b.slot,
          root: b.root,
          parentRoot: b.parentRoot,
        });
        continue;
      }
      let outcome;
      try {
        outcome = await this.pool.verify(b.bytes);
      } catch (e) {
        // A thread that failed may have lost its states: the next block bootstraps again.
        this.anchor = null;
        return this.unavailable(rest, "worker_failed", errorMessage(e));
      }
      if (outcome.kind === "malformed")
        return this.unavailable(rest, "fetch_failed", `block ${b.root}: ${outcome.detail}`);
      if (outcome.kind === "no_parent_state") {
        if (await again(`the thread has no state for ${b.parentRoot}`)) return;
        return this.unavailable(rest, "no_parent_state", `no state for parent ${b.parentRoot}`);
      }
      const v = outcome.verdict;
      if (v.root !== b.root)
        return this.unavailable(rest, "fetch_failed", `asked for block ${b.root}, the node served ${v.root}`);
      // Kept whatever its payload's fate: the thread keeps the post-state once consensus passed.
      if (v.status === "verified") this.keep(v.root);
      this.record(v.status === "verified" && outcome.execution ? await this.executed(v, outcome.execution) : v);
    }
  }

  /** The verdict once `v`'s payload ran; a block left unverified by the endpoint is kept to be tried again. */
  private async executed(v: VerifiedBlock, input: ExecutionInput): Promise<BlockVerdict> {
    const judged = await this.execute(v, input);
    this.unexecuted.delete(v.root);
    if (judged.status === "unavailable") {
      this.unexecuted.set(v.root, {verified: v, input});
      while (this.unexecuted.size > STATES_KEPT) this.unexecuted.delete(this.unexecuted.keys().next().value as string);
    }
    return judged;
  }

  /**
   * Re-executes a consensus-valid block's payload, when there is an endpoint to read its parent state from. The
   * budget is a third of a slot: past it, a vote for the block is due, and the block stays unverified here.
   */
  private async execute(v: VerifiedBlock, input: ExecutionInput): Promise<BlockVerdict> {
    if (!this.executor || !this.opts.executionRpc) return v;
    const timeoutMs = Math.round(this.opts.config.SLOT_DURATION_MS / 3);
    const base = {slot: v.slot, root: v.root, parentRoot: v.parentRoot};
    const ex = await this.executor
      .execute({rpcUrl: this.opts.executionRpc, input, timeoutMs})
      .catch((e: unknown): ExecutionOutcome => ({
        status: "unverified",
        reason: "execution_unavailable",
        detail: errorMessage(e),
      }));
    if (ex.status === "valid")
      return {...v, executed: true, timings: {...v.timings, executionMs: ex.ms, totalMs: v.timings.totalMs + ex.ms}};
    if (ex.status === "invalid")
      return {status: "invalid", reason: "bad_payload", detail: ex.detail, timings: v.timings, ...base};
    return {status: "unavailable", reason: ex.reason, detail: ex.detail, ...base};
  }

  /** Mirrors BlockVerifier's kept states: same size, same order, so `kept` says what the thread holds. */
  private keep(root: string): void {
    this.kept.add(root);
    while (this.kept.size > STATES_KEPT) this.kept.delete(this.kept.keys().next().value as string);
  }

  /** `blocks` (and `first`, a root that was not fetched) cannot be checked; each descends from the one before. */
  private unavailable(blocks: FetchedBlock[], reason: UnavailableReason, detail: string, first?: string): void {
    if (first !== undefined) this.record({status: "unavailable", reason, detail, root: first});
    for (const b of blocks)
      this.record({status: "unavailable", reason, detail, root: b.root, slot: b.slot, parentRoot: b.parentRoot});
  }

  /** A verdict is reported when it is new or changed, not each time a head poll asks for the same root again. */
  private record(v: BlockVerdict): void {
    // A stop aborts the requests in flight: their failures say nothing about the blocks.
    if (this.stopped) return;
    const before = this.verdicts.get(v.root);
    this.verdicts.set(v);
    for (const listener of this.listeners) listener(v);
    if (
      before?.status === v.status &&
      (before.status === "verified" || ("reason" in before && "reason" in v && before.reason === v.reason))
    )
      return;
    this.opts.events?.verdict?.(v);
  }
}
