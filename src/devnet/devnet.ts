import "./preset.js";
import {DevnetBuilder} from "./builder.js";
import {BuilderRegistrations} from "./builderRegistrations.js";
import {
  computeEpochAtSlot,
  computeStartSlotAtEpoch,
  createPubkeyCache,
  createCachedBeaconState,
} from "@lodestar/state-transition";
import type {SignedBeaconBlock} from "@lodestar/types";
import {ACTIVE_PRESET, PresetName} from "@lodestar/params";
import type {Logger} from "../util/logger.js";
import {errorMessage} from "../util/errors.js";
import {DevChain} from "./chain.js";
import {devnetBeaconConfig, devnetForkConfig, type DevnetFork} from "./config.js";
import {EvmEngine} from "./execution/evmEngine.js";
import type {ExecutionEngine} from "./execution/types.js";
import {DutyRecorder} from "./effectiveness.js";
import {Faults, invalidHead} from "./faults.js";
import {buildGenesisState} from "./genesis.js";
import {readExtraDeposits} from "./extraDeposits.js";
import {SecretKeyCache} from "./keys.js";
import {FORK_GRAFFITI, INVALID_GRAFFITI, OwnValidators} from "./ownValidators.js";
import type {BlockEntry} from "./blockStore.js";
import {bytesEqual} from "../hotpath/bytes.js";

export interface DevnetOptions {
  validators: number;
  own: Set<number>;
  slotMs: number;
  fork: DevnetFork;
  genesisDelaySec: number;
  logger: Logger;
  /** Clock override (benchmarks drive slots by hand); Date.now by default. */
  now?: () => number;
  /** Builds the execution layer once the genesis time is known; the default is the EVM. */
  engine?: (genesisTime: number) => Promise<ExecutionEngine> | ExecutionEngine;
  /** A block builder behind the beacon node (builder.ts). */
  builder?: boolean;
  /** A deposit-data.json whose validators join at genesis after the interop ones (extraDeposits.ts). */
  deposits?: string;
}

/** The attestation deadline as a fraction of the slot (1/3), the spec's ATTESTATION_DUE_BPS of 3333. */
const ATTESTATION_DUE_FRACTION = 1 / 3;
/**
 * When the head's state is advanced to the next slot ahead of time, as real beacon nodes do (Lodestar's
 * PrepareNextSlotScheduler): at an epoch's last slot this runs the epoch transition, which otherwise ran inside
 * the first block's production and made it 250-450 ms slower, late enough that the epoch's first attesters voted
 * before the block came. At 3/4 of the slot: after the attestations (1/3) and aggregates (2/3) it would delay.
 */
const PREPARE_NEXT_SLOT_FRACTION = 3 / 4;

/** A running devnet: genesis, the chain, its own validators and the slot clock that drives them. */
export class Devnet {
  readonly chain: DevChain;
  readonly keys: SecretKeyCache;
  readonly own: OwnValidators;
  readonly faults = new Faults();
  readonly duties = new DutyRecorder();
  readonly feeRecipients = new Map<number, Uint8Array>();
  /** Builder registrations the validators' clients sent (register_validator), as a relay keeps them. */
  readonly registrations = new BuilderRegistrations();
  /** The block builder, when the devnet runs with one (`--builder`). */
  readonly builder: DevnetBuilder | undefined;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly logger: Logger;

  private constructor(chain: DevChain, keys: SecretKeyCache, own: Set<number>, logger: Logger, builder: boolean) {
    this.chain = chain;
    this.builder = builder ? new DevnetBuilder(chain.config) : undefined;
    this.keys = keys;
    this.logger = logger;
    this.own = new OwnValidators(chain, keys, own, logger, this.feeRecipients);
  }

  static async create(opts: DevnetOptions): Promise<Devnet> {
    if (ACTIVE_PRESET !== PresetName.minimal) {
      throw new Error(
        `the devnet needs Lodestar's minimal preset but ${ACTIVE_PRESET} is active: import src/devnet/preset.js before any @lodestar package`,
      );
    }
    const keys = new SecretKeyCache();
    const forkConfig = devnetForkConfig(opts.fork, opts.slotMs);
    // The EL genesis block carries the time the build starts, and genesis is set once the (slow) build is done:
    // 2,500 validators' deposits took longer than the default delay, and genesis passed before the node served.
    // Only a child's timestamp must exceed its parent's, and the first block's is genesis plus a slot.
    const elGenesisTime = Math.ceil(Date.now() / 1000);
    const engine = opts.engine ? await opts.engine(elGenesisTime) : await EvmEngine.create(elGenesisTime);
    const extra = opts.deposits === undefined ? [] : await readExtraDeposits(opts.deposits);
    const state = buildGenesisState(forkConfig, keys, opts.validators, engine.genesis(), elGenesisTime, extra);
    state.genesisTime = Math.ceil(Date.now() / 1000) + opts.genesisDelaySec;
    const config = devnetBeaconConfig(opts.fork, opts.slotMs, state.genesisValidatorsRoot);
    const cached = createCachedBeaconState(state, {config, pubkeyCache: createPubkeyCache()});
    const chain = new DevChain({
      config,
      genesisState: cached,
      engine,
      slotMs: opts.slotMs,
      logger: opts.logger,
      now: opts.now,
    });
    return new Devnet(chain, keys, opts.own, opts.logger, Boolean(opts.builder));
  }

  /** Starts the slot clock: proposals at slot start, own attestations and sync messages at one third. */
  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      const chain = this.chain;
      const now = Date.now();
      const slot = chain.currentSlot();
      const slotStart = chain.slotStartMs(slot);
      const attestAt = slotStart + chain.slotMs * ATTESTATION_DUE_FRACTION;
      if (now >= slotStart && slot > 0 && this.lastProposed < slot) {
        this.lastProposed = slot;
        void this.runProposal(slot);
      }
      // A tick delayed past a slot's end (a busy event loop) still attests for that slot, late, as a real validator
      // client would: a late vote is still included. Only the previous slot is caught up; older ones are lost.
      for (let s = Math.max(this.lastAttested + 1, slot - 1, 0); s <= slot; s++) {
        if (now < chain.slotStartMs(s) + chain.slotMs * ATTESTATION_DUE_FRACTION) break;
        this.lastAttested = s;
        try {
          this.own.attest(s);
        } catch (e) {
          this.logger.warn("Own attestations failed", {slot: s}, errorMessage(e));
        }
      }
      const prepareAt = slotStart + chain.slotMs * PREPARE_NEXT_SLOT_FRACTION;
      if (now >= prepareAt && this.lastPrepared < slot) {
        this.lastPrepared = slot;
        this.endInvalidHead(slot);
        try {
          chain.stateAt(chain.head(), slot + 1);
        } catch (e) {
          this.logger.warn("Next slot not prepared", {slot: slot + 1}, errorMessage(e));
        }
      }
      const next =
        this.lastAttested < slot ? attestAt : this.lastPrepared < slot ? prepareAt : chain.slotStartMs(slot + 1);
      this.timer = setTimeout(tick, Math.max(1, next - Date.now()));
    };
    tick();
  }

  /**
   * The invalid_head fault ends once the slot's votes are cast: the valid block of the slot (or its parent, when
   * none came) is the head again, so the next proposer builds on the valid chain.
   */
  private endInvalidHead(slot: number): void {
    if (!invalidHead(this.faults.peek(slot))) return;
    const head = this.chain.head();
    if (head.slot !== slot || !bytesEqual(head.signedBlock.message.body.graffiti, INVALID_GRAFFITI)) return;
    let valid: BlockEntry | undefined;
    for (const b of this.chain.blocks.all())
      if (b.slot === slot && b !== head && b.parentRootHex === head.parentRootHex) valid = b;
    const back = valid ?? this.chain.blocks.get(head.parentRootHex);
    if (back) this.chain.forceHead(back);
  }

  private lastProposed = 0;
  private lastAttested = -1;
  private lastPrepared = -1;

  private async runProposal(slot: number): Promise<void> {
    try {
      this.duties.record(this.chain, computeEpochAtSlot(slot));
    } catch (e) {
      this.logger.warn("Could not record duties", {slot}, errorMessage(e));
    }
    const fault = this.faults.peek(slot);
    if (fault?.kind === "late") await new Promise((r) => setTimeout(r, fault.delayMs));
    await this.own.propose(slot, fault);
  }

  /**
   * Imports a block from a client. Injected faults apply here too, so they work whoever proposes: a skipped slot
   * drops the block, a late one is held back, a fork also imports a sibling on the parent.
   */
  async publishBlock(signed: SignedBeaconBlock): Promise<void> {
    const slot = signed.message.slot;
    const fault = this.faults.peek(slot);
    if (fault?.kind === "skip") return;
    if (fault?.kind === "late") await new Promise((r) => setTimeout(r, fault.delayMs));
    const entry = await this.chain.importBlock(signed);
    const invalid = invalidHead(fault);
    if (invalid) {
      const parent = this.chain.blocks.get(entry.parentRootHex);
      if (parent)
        await this.own
          .proposeInvalid(slot, parent, invalid.payload)
          .catch((e) => this.logger.warn("Invalid head fault failed", {slot}, errorMessage(e)));
    }
    if (fault?.kind === "fork") {
      const parent = this.chain.blocks.get(entry.parentRootHex);
      if (parent)
        await this.own
          .proposeOn(slot, parent, FORK_GRAFFITI)
          .catch((e) => this.logger.warn("Fork fault failed", {slot}, errorMessage(e)));
    }
  }

  /**
   * Liveness as the Beacon API defines it: the validator was seen voting in `epoch` (submitted, or in a block), or
   * it proposed.
   */
  isLive(index: number, epoch: number): boolean {
    for (let slot = computeStartSlotAtEpoch(epoch); slot < computeStartSlotAtEpoch(epoch + 1); slot++)
      if (this.chain.seenLive(slot, index)) return true;
    for (const b of this.chain.blocks.ancestors(this.chain.head())) {
      if (computeEpochAtSlot(b.slot) < epoch) break;
      if (b.slot > 0 && computeEpochAtSlot(b.slot) === epoch && b.signedBlock.message.proposerIndex === index)
        return true;
      if (b.inclusions.some((i) => i.validatorIndex === index && i.targetEpoch === epoch)) return true;
    }
    return false;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
