import {createHash} from "node:crypto";
import type {BeaconApiMethods} from "@lodestar/api/beacon/server";
import type {BeaconConfig} from "@lodestar/config";
import {SLOTS_PER_EPOCH} from "@lodestar/params";
import type {FastifyInstance} from "fastify";
import type {SignedBeaconBlock, altair, bellatrix, electra, phase0} from "@lodestar/types";
import {devnetBeaconConfig} from "../../../src/devnet/config.js";
import {type ServedNamespace, beaconApiServer} from "../../../src/devnet/api/server.js";
import {type Logger, createLogger} from "../../../src/util/logger.js";
import {SCRIPTED, memoryBeaconMethods} from "./beaconMethods.js";

/**
 * A slot of a second: a test of a duty runs for a few slots, so this is what makes it take seconds. The client reads
 * it from the spec (SLOT_DURATION_MS) like any chain's; the duties' due and late points stay the spec's thirds
 * (333 and 667 ms): a third of a slot from due to late, three times what four in-process nodes take (~100 ms).
 */
export const MEMORY_SLOT_MS = 1000;

/** Every Beacon API operation the scripted beacon node can be told to fail (its @lodestar/api operationId). */
export type Operation = {[K in ServedNamespace]: keyof BeaconApiMethods[K] & string}[ServedNamespace];

/** How one operation misbehaves, on every node's beacon node or on some. */
export interface RouteFault {
  /** Answer this many ms late (a slow or overloaded beacon node). */
  delayMs?: number;
  /** Fail every request with this HTTP status (500: a failing node, 503: a syncing one, 4xx: a refusal). */
  status?: number;
  /**
   * Submissions: refuse each item this gives a reason for, with 400 and the Beacon API's indexed failures; the
   * other items of the batch are taken, as a beacon node does.
   */
  refuse?(item: unknown): string | undefined;
  /** The nodes (1-based) whose beacon node misbehaves; every node's when absent. */
  nodes?: number[];
  /** Changes the answer before it is sent (a lying beacon node); given the request too. */
  alter?(answer: unknown, request: unknown): void;
  /** Only requests this holds for are delayed, failed or altered (its argument is the operation's, e.g. `{epoch, indices}`). */
  when?(request: unknown): boolean;
}

/** One validator's attester duty as the script gives it; the API's other fields are derived. */
export interface ScriptedAttesterDuty {
  validatorIndex: number;
  slot: number;
  committeeIndex?: number;
  /** At most 31 (TARGET_AGGREGATORS_PER_COMMITTEE * 2 - 1) makes every member an aggregator; 2048 almost none. */
  committeeLength?: number;
  validatorCommitteeIndex?: number;
}

/** What a beacon node was sent, by which node of the cluster, and whether it took it. */
export interface Received<T> {
  node: number;
  item: T;
  /** The refusal given back (a scripted RouteFault), if it was refused. */
  refused?: string;
}

/**
 * A beacon node scripted by the test instead of a chain: genesis (see `slotOneAfter`),
 * the minimal preset with MEMORY_SLOT_MS slots and every fork to Electra from genesis, the duties the test lists,
 * attestation data and head blocks derived from the slot, pools filled by what the cluster submits, and every
 * submission recorded. Each node gets a beacon node of its own (`serve`), a real HTTP server on 127.0.0.1 built
 * from @lodestar/api's route definitions exactly as the embedded devnet's, all over this one script (one chain, as
 * gossip makes it), so a test can tell which node sent what and make one node's beacon node lie or refuse.
 */
export class MemoryBeacon {
  readonly config: BeaconConfig;
  /** Seconds since the Unix epoch, as the Beacon API gives it; see `slotOneAfter`. */
  genesisTime: number;
  readonly attesterDuties: ScriptedAttesterDuty[] = [];
  /** Slot to proposer's validator index; slots not listed are proposed by validators outside the cluster. */
  readonly proposers = new Map<number, number>();
  /** Validator index to its positions in the sync committee (of every period). */
  readonly syncCommittee = new Map<number, number[]>();
  readonly received = {
    attestations: [] as Received<electra.SingleAttestation>[],
    aggregates: [] as Received<electra.SignedAggregateAndProof>[],
    syncMessages: [] as Received<altair.SyncCommitteeMessage>[],
    contributions: [] as Received<altair.SignedContributionAndProof>[],
    blocks: [] as Received<SignedBeaconBlock>[],
    exits: [] as Received<phase0.SignedVoluntaryExit>[],
    registrations: [] as Received<bellatrix.SignedValidatorRegistrationV1>[],
    blindedBlocks: [] as Received<electra.SignedBlindedBeaconBlock>[],
  };
  /** A builder behind every node's beacon node: its bid wins whenever a node asks with a non-zero boost factor. */
  builder?: {coinbase: string; bidWei: bigint};
  /** Validator index to the exit epoch the chain shows (a test sets it as a block including the exit would). */
  readonly exitEpochs = new Map<number, number>();
  /** Fee recipients the nodes told (prepare_beacon_proposer): what a block built for the validator pays. */
  readonly feeRecipients = new Map<number, string>();
  private readonly faults = new Map<Operation, RouteFault>();
  private readonly servers: FastifyInstance[] = [];

  /** `pubkeys` (0x hex) are the chain's validators, index i the i-th. */
  constructor(readonly pubkeys: string[]) {
    this.config = devnetBeaconConfig("electra", MEMORY_SLOT_MS, root("genesis validators"));
    this.genesisTime = this.slotOneAfter(0);
  }

  /**
   * Sets genesis (a whole second, the API's unit) so that slot 1 starts `ms` from now at the earliest (a slot
   * later at the most), and returns it. Called before any node reads genesis: the nodes start, connect and fetch
   * their duties within `ms`, and the test waits no longer than that and a slot for its first duty.
   */
  slotOneAfter(ms: number): number {
    this.genesisTime = Math.ceil((Date.now() + ms - this.slotMs) / 1000);
    return this.genesisTime;
  }

  get slotMs(): number {
    return this.config.SLOT_DURATION_MS;
  }

  slotStartMs(slot: number): number {
    return this.genesisTime * 1000 + slot * this.slotMs;
  }

  currentSlot(): number {
    return Math.max(0, Math.floor((Date.now() - this.genesisTime * 1000) / this.slotMs));
  }

  /** The root of the block of `slot`: every slot has one, the chain is its slots. */
  blockRoot(slot: number): Uint8Array {
    return root(`block ${slot}`);
  }

  /** What every beacon node answers as the attestation data of `slot` (Electra: committee index 0). */
  attestationData(slot: number): phase0.AttestationData {
    const epoch = Math.floor(slot / SLOTS_PER_EPOCH);
    const checkpoint = (e: number) => ({epoch: e, root: this.blockRoot(e * SLOTS_PER_EPOCH)});
    return {
      slot,
      index: 0,
      beaconBlockRoot: this.blockRoot(slot),
      source: checkpoint(Math.max(0, epoch - 1)),
      target: checkpoint(epoch),
    };
  }

  /** The full attester duty of a scripted one, as the API gives it. */
  attesterDuty(d: ScriptedAttesterDuty): Required<ScriptedAttesterDuty> & {committeesAtSlot: number} {
    return {committeeIndex: 0, committeeLength: 4, validatorCommitteeIndex: 0, committeesAtSlot: 1, ...d};
  }

  /** Makes `op` misbehave from now on (see RouteFault); `heal` ends it. */
  fault(op: Operation, fault: RouteFault): void {
    this.faults.set(op, fault);
  }

  heal(op: Operation): void {
    this.faults.delete(op);
  }

  /** The fault `op` has on `node`'s beacon node, if any. */
  faultOf(op: Operation, node: number): RouteFault | undefined {
    const f = this.faults.get(op);
    return f && (!f.nodes || f.nodes.includes(node)) ? f : undefined;
  }

  /** Starts node `node`'s beacon node on 127.0.0.1 (a free port) and returns its URL. */
  async serve(node: number): Promise<string> {
    const server = beaconApiServer(this.config, memoryBeaconMethods(this, node), quietAboutScriptedFaults());
    this.servers.push(server);
    return server.listen({port: 0, host: "127.0.0.1"});
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.splice(0).map((s) => {
        const closed = s.close();
        // A request the node gave up on (a builder path past its budget) can leave its connection half-open,
        // and the server would wait for it forever: the test is over, every connection may go.
        s.server.closeAllConnections();
        return closed;
      }),
    );
  }
}

/**
 * The server's logger, without the error line a scripted HTTP 5xx makes: the test asked for that failure, and a
 * line per request of it buried the failures worth reading in the suite's output. Every other error is logged.
 */
function quietAboutScriptedFaults(): Logger {
  const logger = createLogger("error", "memory-beacon");
  const scripted = (e: unknown) => e instanceof Error && e.message.startsWith(SCRIPTED);
  return {...logger, error: (message, context, e) => scripted(e) || logger.error(message, context, e)};
}

/** A 32-byte root named by `label`: distinct labels, distinct roots. */
function root(label: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(`r3dv memory beacon: ${label}`).digest());
}
