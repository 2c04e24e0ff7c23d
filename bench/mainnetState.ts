/**
 * What the EVM role costs on mainnet: a mainnet-preset state of N validators (1,000,000 by default) bootstrapped
 * through the real StateTransitionPool, then blocks verified on it. A process of its own because Lodestar freezes
 * its preset on first import and the bench runs minimal (evmMainnetSuite.ts spawns it); nothing here may import
 * src/devnet/preset.js.
 *
 *   node --max-old-space-size=8192 dist/bench/mainnetState.js [validators] [electra|fulu]
 *
 * Env: MAINNET_STATE_VALIDATORS, MAINNET_STATE_FORK, MAINNET_STATE_SAMPLES. Human lines first; the last stdout line
 * is one JSON object with every number.
 *
 * The fixture (pubkeys, anchor state, blocks) is built by a second run of this script (`--build`) and cached in the
 * temp dir: building leaves gigabytes of this process's heap and malloc arenas behind, which would be counted as the
 * verifier thread's RSS; the measuring process only reads bytes, so its RSS is the thread's and Lodestar's.
 */
// First: the native hasher, as `r3dv run` sets it, before the SSZ code below is loaded.
import "../src/util/nativeHasher.js";
import {spawn} from "node:child_process";
import {createHash} from "node:crypto";
import {readFile, rename, writeFile} from "node:fs/promises";
import {loadavg, tmpdir} from "node:os";
import {join} from "node:path";
import {performance} from "node:perf_hooks";
import {fileURLToPath} from "node:url";
import {getHeapStatistics} from "node:v8";
import {PublicKey, SecretKey, aggregatePublicKeys} from "@chainsafe/blst";
import {BitArray} from "@chainsafe/ssz";
import {createBeaconConfig, type BeaconConfig} from "@lodestar/config";
import {forksFromGenesis} from "../src/devnet/config.js";
import {mainnetChainConfig} from "@lodestar/config/configs";
import {
  ACTIVE_PRESET,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_BEACON_PROPOSER,
  DOMAIN_RANDAO,
  DOMAIN_SYNC_COMMITTEE,
  EFFECTIVE_BALANCE_INCREMENT,
  EPOCHS_PER_HISTORICAL_VECTOR,
  ETH1_ADDRESS_WITHDRAWAL_PREFIX,
  FAR_FUTURE_EPOCH,
  ForkSeq,
  MAX_ATTESTATIONS_ELECTRA,
  MAX_COMMITTEES_PER_SLOT,
  MIN_ACTIVATION_BALANCE,
  SLOTS_PER_EPOCH,
  SLOTS_PER_HISTORICAL_ROOT,
} from "@lodestar/params";
import {
  DataAvailabilityStatus,
  ExecutionPayloadStatus,
  computeEpochAtSlot,
  computeSigningRoot,
  computeStartSlotAtEpoch,
  computeTimeAtSlot,
  createCachedBeaconState,
  getBlockRootAtSlot,
  getExpectedWithdrawals,
  getNextSyncCommittee,
  getRandaoMix,
  computeProposerIndices,
  processSlots,
  stateTransition,
  type CachedBeaconStateElectra,
  type PubkeyCache,
} from "@lodestar/state-transition";
import {ssz, type electra, type phase0} from "@lodestar/types";
import type {VerifyOutcome} from "../src/roles/evm/blockVerifier.js";
import {describeChain} from "../src/roles/evm/chainDescription.js";
import type {VerifyTimings} from "../src/roles/evm/verdict.js";
import {StateTransitionPool} from "../src/workers/stateTransitionPool.js";
import {latencyStats} from "./harness.js";

if (ACTIVE_PRESET !== "mainnet")
  throw new Error(
    `mainnetState needs Lodestar's mainnet preset, this process runs ${ACTIVE_PRESET}: unset LODESTAR_PRESET`,
  );

type Fork = "electra" | "fulu";

/** Mainnet's active validator count, rounded (about 1M in 2025; the registry, exited ones included, is larger). */
const DEFAULT_VALIDATORS = 1_000_000;
/** Verifications per block measured, after one unmeasured warm-up each: the brief's 5; each costs seconds at 1M. */
const DEFAULT_SAMPLES = 5;
/**
 * The anchor's epoch: far enough from genesis that no genesis special case applies (justification is skipped for
 * the first two epochs), and E+1 = 1001 is no boundary of a sync committee period (256 epochs), of the historical
 * summaries (256) or of an eth1 voting period (64), so the epoch transition measured is an ordinary one.
 */
const ANCHOR_EPOCH = 1000;
/**
 * The anchor is the post-state of a block at the epoch's second-to-last slot: the ordinary block is then the last
 * slot of the epoch, and the epoch block (the next epoch's first slot) is built on it.
 */
const ANCHOR_SLOT = computeStartSlotAtEpoch(ANCHOR_EPOCH) + SLOTS_PER_EPOCH - 2;
/** Mainnet's genesis time and genesis validators root, so domains and timestamps look like mainnet's. */
const GENESIS_TIME = 1606824023;
const GENESIS_VALIDATORS_ROOT = hex("4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95");
/** A mainnet-like balance above 32 ETH (accrued rewards, gwei), so the payload carries a full sweep of 16 withdrawals. */
const EXCESS_GWEI = 20_000_000;
/** The BLS12-381 group order: secret keys are scalars modulo it. */
const CURVE_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
/** RSS sampling period: fine enough to catch a bootstrap's peak (seconds long), cheap for the main thread. */
const RSS_SAMPLE_MS = 100;
/** Bump when the fixture's construction changes, so a cached fixture of the old construction is not measured. */
const FIXTURE_VERSION = 1;
const MB = 2 ** 20;

interface Pubkeys {
  n: number;
  /** n × 48 bytes: the state's pubkeys. */
  compressed: Uint8Array;
  /** n × 96 bytes: the same points uncompressed, which decode without a square root (~5 µs vs ~25 µs each). */
  uncompressed: Uint8Array;
}

const building = process.argv[2] === "--build";
const args = process.argv.slice(building ? 3 : 2);
const validators = Number(args[0] ?? process.env.MAINNET_STATE_VALIDATORS ?? DEFAULT_VALIDATORS);
const fork = (args[1] ?? process.env.MAINNET_STATE_FORK ?? "electra") as Fork;
const samples = Number(process.env.MAINNET_STATE_SAMPLES ?? DEFAULT_SAMPLES);
// One per slot at least: every slot's committees then have members, so each aggregate has signers.
if (!Number.isSafeInteger(validators) || validators < SLOTS_PER_EPOCH)
  throw new Error(`validators: expected a whole number >= ${SLOTS_PER_EPOCH}`);
if (fork !== "electra" && fork !== "fulu") throw new Error(`fork: expected electra or fulu, got ${fork}`);

async function main() {
  console.log(`mainnet preset, ${fork}, ${validators} validators; load: ${loadAverage()}`);
  const config = chainConfig();
  const fx = await loadFixture();
  const {ordinary, full, epoch} = fx.blocks;

  const rss = new RssSampler();
  const pool = new StateTransitionPool();
  try {
    // Start the thread (and load Lodestar in it) before timing the bootstrap: a verify with no anchor is refused.
    let t = performance.now();
    await pool.verify(new Uint8Array(0)).catch(() => undefined);
    const threadStartMs = performance.now() - t;
    const rssBeforeMB = rss.now();
    rss.resetPeak();
    t = performance.now();
    // The bytes move to the thread (transferred, not copied), as the chain follower's download does.
    const anchorInfo = await pool.bootstrap(describeChain(config), fx.state);
    const bootstrapMs = performance.now() - t;
    const rssAfterMB = rss.now();
    const rssBootstrapPeakMB = rss.peak();
    console.log(`thread started in ${threadStartMs.toFixed(0)} ms; load: ${loadAverage()}`);
    console.log(
      `bootstrap: ${bootstrapMs.toFixed(0)} ms; RSS ${rssBeforeMB.toFixed(0)} MB before, ${rssAfterMB.toFixed(0)} MB after, ` +
        `${rssBootstrapPeakMB.toFixed(0)} MB peak (anchor ${anchorInfo.root} at slot ${anchorInfo.slot})`,
    );

    const ordinaryRuns = await measure(pool, "ordinary", ordinary.bytes);
    const fullRuns = await measure(pool, "full", full.bytes);
    // The epoch block's parent is the ordinary block, kept in the thread since its verification above.
    const epochRuns = await measure(pool, "epoch", epoch.bytes);
    const rssVerifyPeakMB = rss.peak();
    console.log(`RSS peak through the verifications: ${rssVerifyPeakMB.toFixed(0)} MB; load: ${loadAverage()}`);
    return {
      validators,
      fork,
      load: loadAverage(),
      heapLimitMB: getHeapStatistics().heap_size_limit / MB,
      fixtureCached: fx.cached,
      ...fx.built,
      sszMB: fx.sszMB,
      threadStartMs,
      bootstrapMs,
      rssBeforeMB,
      rssAfterMB,
      rssBootstrapPeakMB,
      rssVerifyPeakMB,
      ordinary: {...described(ordinary), ...ordinaryRuns},
      full: {...described(full), ...fullRuns},
      epoch: {...described(epoch), ...epochRuns},
    };
  } finally {
    rss.stop();
    await pool.close();
  }
}

interface FixtureHeader {
  version: number;
  /** How the fixture was built (ms), when it was: generating pubkeys, building the state, building the blocks. */
  built: {pubkeysCached: boolean; pubkeysMs: number; stateBuildMs: number; blockBuildMs: number};
  stateLength: number;
  blocks: Record<"ordinary" | "full" | "epoch", Omit<BuiltBlock, "bytes"> & {length: number}>;
}

function fixturePath(): string {
  return join(tmpdir(), `r3dv-bench-mainnet-v${FIXTURE_VERSION}-${fork}-${validators}.bin`);
}

/** The cached fixture, built first by `--build` in a process of its own when there is none. */
async function loadFixture() {
  const path = fixturePath();
  let cached = true;
  let file = await readFile(path).catch(() => null);
  if (!file) {
    cached = false;
    await runBuilder();
    file = await readFile(path);
  }
  const headerLength = file.readUInt32LE(0);
  const header = JSON.parse(file.toString("utf8", 4, 4 + headerLength)) as FixtureHeader;
  let offset = 4 + headerLength;
  const take = (length: number) => {
    // A copy with a buffer of its own: the state is then transferred to the thread rather than copied again.
    const bytes = new Uint8Array(file.subarray(offset, offset + length));
    offset += length;
    return bytes;
  };
  const state = take(header.stateLength);
  const block = (name: keyof FixtureHeader["blocks"]): BuiltBlock => {
    const {length, ...info} = header.blocks[name];
    return {...info, bytes: take(length)};
  };
  const blocks = {ordinary: block("ordinary"), full: block("full"), epoch: block("epoch")};
  console.log(`fixture ${cached ? "read from" : "built into"} ${path}`);
  return {cached, built: header.built, sszMB: state.length / MB, state, blocks};
}

function described({bytes, ...info}: BuiltBlock): FixtureHeader["blocks"]["ordinary"] {
  return {...info, length: bytes.length};
}

/** This script with `--build`, on the same Node and flags (the heap limit), the human lines passed through. */
function runBuilder(): Promise<void> {
  const argv = [...process.execArgv, fileURLToPath(import.meta.url), "--build", String(validators), fork];
  const child = spawn(process.execPath, argv, {stdio: ["ignore", "inherit", "inherit"]});
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`the fixture builder ended with ${signal ?? `code ${code}`}`)),
    );
  });
}

/** Builds the pubkeys, the anchor state (as SSZ) and the three measured blocks, and writes them to the cache. */
async function writeFixture(): Promise<void> {
  console.log(`building the fixture: ${fork}, ${validators} validators; load: ${loadAverage()}`);
  const config = chainConfig();
  const keys = await loadPubkeys(validators);
  console.log(`pubkeys: ${keys.cached ? "read from cache" : "generated"} in ${keys.ms.toFixed(0)} ms (${keys.path})`);

  let t = performance.now();
  const anchor = buildAnchor(config, keys.keys);
  const stateBuildMs = performance.now() - t;
  console.log(`anchor state (slot ${ANCHOR_SLOT}) built in ${stateBuildMs.toFixed(0)} ms`);

  t = performance.now();
  const ordinary = buildBlock(config, anchor, ANCHOR_SLOT + 1, 1);
  const full = buildBlock(config, anchor, ANCHOR_SLOT + 1, MAX_ATTESTATIONS_ELECTRA);
  const epoch = buildBlock(config, ordinary.post, ANCHOR_SLOT + 2, 1);
  const blockBuildMs = performance.now() - t;
  const blocks = {ordinary: ordinary.block, full: full.block, epoch: epoch.block};
  for (const [name, b] of Object.entries(blocks))
    console.log(`${name} block slot ${b.slot}: ${b.attesters} attesters in ${b.aggregates} aggregates, ${kb(b.bytes)}`);
  console.log(`blocks built in ${blockBuildMs.toFixed(0)} ms (state transitions on this thread)`);

  const state = anchor.serialize();
  const header: FixtureHeader = {
    version: FIXTURE_VERSION,
    built: {pubkeysCached: keys.cached, pubkeysMs: keys.ms, stateBuildMs, blockBuildMs},
    stateLength: state.length,
    blocks: {ordinary: described(ordinary.block), full: described(full.block), epoch: described(epoch.block)},
  };
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const path = fixturePath();
  await writeFile(`${path}.tmp`, [length, json, state, ...Object.values(blocks).map((b) => b.bytes)]);
  await rename(`${path}.tmp`, path);
  console.log(`anchor state SSZ: ${(state.length / MB).toFixed(1)} MB; fixture written to ${path}`);
}

/** Mainnet's chain config with every fork up to `fork` at epoch 0, as the devnet has them on minimal. */
function chainConfig(): BeaconConfig {
  return createBeaconConfig(
    {
      ...mainnetChainConfig,
      ...forksFromGenesis(fork),
      GLOAS_FORK_EPOCH: Infinity,
      HEZE_FORK_EPOCH: Infinity,
    },
    GENESIS_VALIDATORS_ROOT,
  );
}

/**
 * Validator i's key is the scalar i+1: its pubkey is (i+1)·G, so each is the previous one plus G, one point
 * addition (~10 µs) instead of a scalar multiplication (~160 µs). Cached in the temp dir, keyed by N.
 */
async function loadPubkeys(n: number): Promise<{keys: Pubkeys; ms: number; cached: boolean; path: string}> {
  const path = join(tmpdir(), `r3dv-bench-pubkeys-${n}.bin`);
  const t = performance.now();
  const file = await readFile(path).catch(() => null);
  if (file && file.length === n * 144) {
    const keys = {n, compressed: file.subarray(0, n * 48), uncompressed: file.subarray(n * 48)};
    return {keys, ms: performance.now() - t, cached: true, path};
  }
  const all = new Uint8Array(n * 144);
  const keys = {n, compressed: all.subarray(0, n * 48), uncompressed: all.subarray(n * 48)};
  const g = secretKey(1n).toPublicKey();
  let pk = g;
  for (let i = 0; i < n; i++) {
    if (i > 0) pk = aggregatePublicKeys([pk, g]);
    keys.compressed.set(pk.toBytes(true), i * 48);
    keys.uncompressed.set(pk.toBytes(false), i * 96);
  }
  const ms = performance.now() - t;
  await writeFile(`${path}.tmp`, all);
  await rename(`${path}.tmp`, path);
  return {keys, ms, cached: false, path};
}

/**
 * The state's pubkey cache for this thread, decoded lazily from the uncompressed points: building the blocks
 * needs a few thousand keys, not the million decompressions a bootstrap pays (that cost is measured in the thread).
 */
class LazyPubkeyCache implements PubkeyCache {
  private readonly decoded: PublicKey[] = [];
  private byKey: Map<string, number> | null = null;
  private count: number;

  constructor(private readonly keys: Pubkeys) {
    this.count = keys.n;
  }

  get size(): number {
    return this.count;
  }

  get(index: number): PublicKey | undefined {
    if (index >= this.count) return undefined;
    return (this.decoded[index] ??= PublicKey.fromBytes(this.keys.uncompressed.subarray(index * 96, index * 96 + 96)));
  }

  getOrThrow(index: number): PublicKey {
    const pk = this.get(index);
    if (!pk) throw new Error(`no pubkey for validator ${index}`);
    return pk;
  }

  getIndex(pubkey: Uint8Array): number | null {
    return this.index().get(Buffer.from(pubkey).toString("latin1")) ?? null;
  }

  set(index: number, pubkey: Uint8Array): void {
    this.decoded[index] = PublicKey.fromBytes(pubkey);
    this.index().set(Buffer.from(pubkey).toString("latin1"), index);
    this.count = Math.max(this.count, index + 1);
  }

  /** Pubkey (as a latin1 string of its 48 bytes) to index, built on first use: only the sync committee's need it. */
  private index(): Map<string, number> {
    if (!this.byKey) {
      this.byKey = new Map();
      const c = Buffer.from(this.keys.compressed.buffer, this.keys.compressed.byteOffset, this.keys.compressed.length);
      for (let i = 0; i < this.keys.n; i++) this.byKey.set(c.toString("latin1", i * 48, i * 48 + 48), i);
    }
    return this.byKey;
  }
}

/**
 * The post-state of a block at ANCHOR_SLOT on a chain where every validator is active with 32 ETH and 0x01
 * credentials, epoch E-1 justified and E-2 finalized, everyone attested in E-1 and so far in E except the slots
 * the measured blocks include (their flags are still unset, so including them costs what it costs on mainnet).
 */
function buildAnchor(config: BeaconConfig, keys: Pubkeys): CachedBeaconStateElectra {
  const n = keys.n;
  const type = fork === "fulu" ? ssz.fulu.BeaconState : ssz.electra.BeaconState;
  const value = type.defaultValue() as electra.BeaconState;
  const epochRoot = (e: number) => root("block", computeStartSlotAtEpoch(e));
  const fields: Partial<electra.BeaconState> = {
    genesisTime: GENESIS_TIME,
    genesisValidatorsRoot: GENESIS_VALIDATORS_ROOT,
    slot: ANCHOR_SLOT,
    fork: {
      previousVersion: fork === "fulu" ? config.ELECTRA_FORK_VERSION : config.DENEB_FORK_VERSION,
      currentVersion: fork === "fulu" ? config.FULU_FORK_VERSION : config.ELECTRA_FORK_VERSION,
      epoch: 0,
    },
    latestBlockHeader: {
      slot: ANCHOR_SLOT,
      proposerIndex: 0,
      parentRoot: root("block", ANCHOR_SLOT - 1),
      // Zero: filled with this state's root by the next slot's processing, as after any block.
      stateRoot: new Uint8Array(32),
      bodyRoot: root("body", ANCHOR_SLOT),
    },
    blockRoots: Array.from({length: SLOTS_PER_HISTORICAL_ROOT}, (_, i) => root("block", slotAtIndex(i))),
    stateRoots: Array.from({length: SLOTS_PER_HISTORICAL_ROOT}, (_, i) => root("state", slotAtIndex(i))),
    eth1Data: {depositRoot: root("deposits", 0), depositCount: BigInt(n), blockHash: root("eth1", 0)},
    eth1DepositIndex: n,
    validators: Array.from({length: n}, (_, i) => ({
      pubkey: keys.compressed.subarray(i * 48, i * 48 + 48),
      withdrawalCredentials: withdrawalCredentials(i),
      effectiveBalance: MIN_ACTIVATION_BALANCE,
      slashed: false,
      activationEligibilityEpoch: 0,
      activationEpoch: 0,
      exitEpoch: FAR_FUTURE_EPOCH,
      withdrawableEpoch: FAR_FUTURE_EPOCH,
    })),
    balances: Array.from({length: n}, (_, i) => MIN_ACTIVATION_BALANCE + ((i * 7919) % EXCESS_GWEI)),
    randaoMixes: Array.from({length: EPOCHS_PER_HISTORICAL_VECTOR}, (_, i) => root("randao", i)),
    previousEpochParticipation: new Array<number>(n).fill(0b111),
    currentEpochParticipation: new Array<number>(n).fill(0b111),
    justificationBits: BitArray.fromBoolArray([true, true, false, false]),
    previousJustifiedCheckpoint: {epoch: ANCHOR_EPOCH - 2, root: epochRoot(ANCHOR_EPOCH - 2)},
    currentJustifiedCheckpoint: {epoch: ANCHOR_EPOCH - 1, root: epochRoot(ANCHOR_EPOCH - 1)},
    finalizedCheckpoint: {epoch: ANCHOR_EPOCH - 2, root: epochRoot(ANCHOR_EPOCH - 2)},
    inactivityScores: new Array<number>(n).fill(0),
    latestExecutionPayloadHeader: {
      ...ssz.electra.ExecutionPayloadHeader.defaultValue(),
      parentHash: root("el", ANCHOR_SLOT - 1),
      blockHash: root("el", ANCHOR_SLOT),
      feeRecipient: new Uint8Array(20).fill(0xfe),
      stateRoot: root("el-state", ANCHOR_SLOT),
      blockNumber: ANCHOR_SLOT,
      // Mainnet's 2025 gas limit and a typical base fee.
      gasLimit: 36_000_000,
      baseFeePerGas: 1_000_000_000n,
      timestamp: computeTimeAtSlot(config, ANCHOR_SLOT, GENESIS_TIME),
    },
    nextWithdrawalIndex: 0,
    nextWithdrawalValidatorIndex: 0,
    depositRequestsStartIndex: BigInt(n),
    earliestExitEpoch: ANCHOR_EPOCH + 5,
    earliestConsolidationEpoch: ANCHOR_EPOCH + 5,
  };
  Object.assign(value, fields);
  const view = type.toViewDU(value as never) as unknown as CachedBeaconStateElectra;
  // The sync committees as the spec computes them from this state (the same one for both periods).
  const active = Uint32Array.from({length: n}, (_, i) => i);
  const increments = new Uint16Array(n).fill(MIN_ACTIVATION_BALANCE / EFFECTIVE_BALANCE_INCREMENT);
  const {syncCommittee} = getNextSyncCommittee(ForkSeq[fork], view, active, increments);
  view.currentSyncCommittee = ssz.altair.SyncCommittee.toViewDU(syncCommittee);
  view.nextSyncCommittee = ssz.altair.SyncCommittee.toViewDU(syncCommittee);
  view.commit();
  const immutable = {config, pubkeyCache: new LazyPubkeyCache(keys)};
  let state = createCachedBeaconState(view, immutable) as CachedBeaconStateElectra;
  if (fork === "fulu") {
    // Fulu keeps two epochs of proposers in the state, which the epoch cache reads: compute them, then rebuild it.
    const ctx = state.epochCtx;
    const lookahead = [
      ...computeProposerIndices(ForkSeq.fulu, state, ctx.currentShuffling, ANCHOR_EPOCH),
      ...computeProposerIndices(ForkSeq.fulu, state, ctx.nextShuffling, ANCHOR_EPOCH + 1),
    ];
    (view as unknown as {proposerLookahead: unknown}).proposerLookahead =
      ssz.fulu.ProposerLookahead.toViewDU(lookahead);
    view.commit();
    state = createCachedBeaconState(view, immutable) as CachedBeaconStateElectra;
  }
  state.latestBlockHeader.proposerIndex = state.epochCtx.getBeaconProposer(ANCHOR_SLOT);
  // Not yet attested: the slots whose attestations the measured blocks include (the full block's 8, and the
  // ordinary block's slot, whose votes the epoch block carries).
  for (let slot = ANCHOR_SLOT + 1 - MAX_ATTESTATIONS_ELECTRA; slot <= ANCHOR_SLOT + 1; slot++)
    for (const committee of committeesAt(state, slot))
      for (const v of committee) state.currentEpochParticipation.set(v, 0);
  state.commit();
  state.hashTreeRoot();
  return state;
}

interface BuiltBlock {
  slot: number;
  /** The SignedBeaconBlock's SSZ, as the beacon node serves it. */
  bytes: Uint8Array;
  attesters: number;
  aggregates: number;
}

/**
 * A signed block at `slot` on `parent` (a block's post-state at slot-1), as a proposer builds it: the RANDAO
 * reveal and the proposer's signature, one on-chain aggregate per slot for the `aggregateSlots` slots before it
 * (each spanning every committee of its slot, every member attesting), a full sync aggregate, a payload with the
 * withdrawals the state expects, and the state root from running the state transition.
 */
function buildBlock(config: BeaconConfig, parent: CachedBeaconStateElectra, slot: number, aggregateSlots: number) {
  const pre = processSlots(parent, slot) as CachedBeaconStateElectra;
  const epoch = computeEpochAtSlot(slot);
  const proposerIndex = pre.epochCtx.getBeaconProposer(slot);
  const proposerKey = secretKey(BigInt(proposerIndex + 1));
  const randaoReveal = proposerKey
    .sign(computeSigningRoot(ssz.Epoch, epoch, config.getDomain(pre.slot, DOMAIN_RANDAO, slot)))
    .toBytes();

  const attestations: electra.Attestation[] = [];
  let attesters = 0;
  for (let s = slot - 1; s >= slot - aggregateSlots; s--) {
    const targetEpoch = computeEpochAtSlot(s);
    const source = targetEpoch === epoch ? pre.currentJustifiedCheckpoint : pre.previousJustifiedCheckpoint;
    const data: phase0.AttestationData = {
      slot: s,
      index: 0,
      beaconBlockRoot: getBlockRootAtSlot(pre, s),
      source: source.toValue(),
      target: {epoch: targetEpoch, root: getBlockRootAtSlot(pre, computeStartSlotAtEpoch(targetEpoch))},
    };
    const committees = committeesAt(pre, s);
    const committeeBits = BitArray.fromBitLen(MAX_COMMITTEES_PER_SLOT);
    committees.forEach((_, c) => committeeBits.set(c, true));
    const members = committees.flatMap((c) => Array.from(c));
    attesters += members.length;
    const domain = config.getDomain(pre.slot, DOMAIN_BEACON_ATTESTER, computeStartSlotAtEpoch(targetEpoch));
    // An aggregate of signatures over one message is the signature of the summed key: one signing, not 31,000.
    const signature = summedKey(members)
      .sign(computeSigningRoot(ssz.phase0.AttestationData, data, domain))
      .toBytes();
    const aggregationBits = BitArray.fromBoolArray(new Array<boolean>(members.length).fill(true));
    attestations.push({aggregationBits, data, signature, committeeBits});
  }

  const syncMembers = Array.from(pre.epochCtx.currentSyncCommitteeIndexed.validatorIndices);
  const syncDomain = config.getDomain(pre.slot, DOMAIN_SYNC_COMMITTEE, slot - 1);
  const syncSigningRoot = computeSigningRoot(ssz.Root, getBlockRootAtSlot(pre, slot - 1), syncDomain);
  const header = pre.latestExecutionPayloadHeader;
  const body: electra.BeaconBlockBody = {
    ...ssz.electra.BeaconBlockBody.defaultValue(),
    randaoReveal,
    eth1Data: pre.eth1Data.toValue(),
    attestations,
    syncAggregate: {
      syncCommitteeBits: BitArray.fromBoolArray(new Array<boolean>(syncMembers.length).fill(true)),
      syncCommitteeSignature: summedKey(syncMembers).sign(syncSigningRoot).toBytes(),
    },
    executionPayload: {
      ...ssz.electra.ExecutionPayload.defaultValue(),
      parentHash: header.blockHash,
      feeRecipient: new Uint8Array(20).fill(0xfe),
      stateRoot: root("el-state", slot),
      prevRandao: getRandaoMix(pre, epoch),
      blockNumber: header.blockNumber + 1,
      gasLimit: header.gasLimit,
      timestamp: computeTimeAtSlot(config, slot, pre.genesisTime),
      baseFeePerGas: header.baseFeePerGas,
      // Consensus takes the payload as given (its re-execution is the execution thread's): any hash will do.
      blockHash: root("el", slot),
      withdrawals: getExpectedWithdrawals(ForkSeq[fork], pre).expectedWithdrawals,
    },
  };
  const parentRoot = getBlockRootAtSlot(pre, slot - 1);
  const block: electra.BeaconBlock = {slot, proposerIndex, parentRoot, stateRoot: new Uint8Array(32), body};
  const post = stateTransition(
    pre,
    {message: block, signature: new Uint8Array(96)},
    {
      verifyStateRoot: false,
      verifyProposer: false,
      verifySignatures: false,
      executionPayloadStatus: ExecutionPayloadStatus.valid,
      dataAvailabilityStatus: DataAvailabilityStatus.Available,
    },
  ) as CachedBeaconStateElectra;
  block.stateRoot = post.hashTreeRoot();
  const types = config.getForkTypes(slot);
  const proposerDomain = config.getDomain(pre.slot, DOMAIN_BEACON_PROPOSER, slot);
  const signature = proposerKey.sign(computeSigningRoot(types.BeaconBlock, block, proposerDomain)).toBytes();
  const bytes = types.SignedBeaconBlock.serialize({message: block, signature});
  const built: BuiltBlock = {slot, bytes, attesters, aggregates: attestations.length};
  return {block: built, post};
}

/** Verifies `block` once to warm up, then `samples` times: the round trip and the thread's own stage timings. */
async function measure(pool: StateTransitionPool, name: string, block: Uint8Array) {
  const t0 = performance.now();
  await verified(pool.verify(block));
  const firstMs = performance.now() - t0;
  const roundTrips: number[] = [];
  const stages: VerifyTimings[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    stages.push(await verified(pool.verify(block)));
    roundTrips.push(performance.now() - t);
  }
  const round = latencyStats(roundTrips);
  const stage = (k: keyof VerifyTimings) => {
    const s = latencyStats(stages.map((x) => x[k] ?? NaN));
    return {meanMs: s.mean, p99Ms: s.p99};
  };
  const out = {
    samples,
    firstMs,
    meanMs: round.mean,
    p99Ms: round.p99,
    stages: {
      slots: stage("slotsMs"),
      signatures: stage("signaturesMs"),
      block: stage("blockMs"),
      hash: stage("hashMs"),
      total: stage("totalMs"),
    },
  };
  const s = out.stages;
  console.log(
    `${name} block: first ${firstMs.toFixed(0)} ms, then mean ${round.mean.toFixed(0)} ms p99 ${round.p99.toFixed(0)} ms ` +
      `(slots ${s.slots.meanMs.toFixed(0)}, signatures ${s.signatures.meanMs.toFixed(0)}, block ${s.block.meanMs.toFixed(0)}, ` +
      `hash ${s.hash.meanMs.toFixed(0)}, in thread ${s.total.meanMs.toFixed(0)} ms); budget 4000 ms`,
  );
  return out;
}

async function verified(p: Promise<VerifyOutcome>): Promise<VerifyTimings> {
  const o = await p;
  if (o.kind !== "verdict" || o.verdict.status !== "verified")
    throw new Error(`bench block not verified: ${JSON.stringify(o)}`);
  return o.verdict.timings;
}

function committeesAt(state: CachedBeaconStateElectra, slot: number): Uint32Array[] {
  const count = state.epochCtx.getCommitteeCountPerSlot(computeEpochAtSlot(slot));
  return Array.from({length: count}, (_, c) => state.epochCtx.getBeaconCommittee(slot, c));
}

/** The secret key of validators' summed scalars (validator i's is i+1), counted with multiplicity. */
function summedKey(indices: Iterable<number>): SecretKey {
  let sum = 0n;
  for (const i of indices) sum += BigInt(i + 1);
  return secretKey(sum % CURVE_ORDER);
}

function secretKey(scalar: bigint): SecretKey {
  return SecretKey.fromBytes(hex(scalar.toString(16).padStart(64, "0")));
}

function withdrawalCredentials(i: number): Uint8Array {
  const wc = new Uint8Array(32);
  wc[0] = ETH1_ADDRESS_WITHDRAWAL_PREFIX;
  new DataView(wc.buffer).setUint32(28, i);
  return wc;
}

/** The slot whose root sits at `index` of the state's circular root vectors: the newest slot before the anchor. */
function slotAtIndex(index: number): number {
  const newest = ANCHOR_SLOT - 1;
  return newest - ((newest - index + SLOTS_PER_HISTORICAL_ROOT) % SLOTS_PER_HISTORICAL_ROOT);
}

/** A distinct, stable 32-byte root per (what, n): stands for a history this state never had. */
function root(what: string, n: number): Uint8Array {
  return new Uint8Array(createHash("sha256").update(`${what}:${n}`).digest());
}

function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "hex"));
}

function kb(b: Uint8Array): string {
  return `${(b.length / 1024).toFixed(1)} KB`;
}

/** The 1/5/15-minute load averages: other jobs on the machine skew every number here. */
function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

/** The process's RSS (MB), sampled every RSS_SAMPLE_MS for a peak: the verifier thread's heap is part of it. */
class RssSampler {
  private max = 0;
  private readonly timer = setInterval(() => this.now(), RSS_SAMPLE_MS);

  now(): number {
    const mb = process.memoryUsage.rss() / MB;
    this.max = Math.max(this.max, mb);
    return mb;
  }

  peak(): number {
    return this.max;
  }

  resetPeak(): void {
    this.max = this.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// Last: the classes above are not hoisted, and both paths use them.
if (building) await writeFixture();
else console.log(JSON.stringify(await main()));
