import type {BeaconEndpointStatus} from "../roles/validator/beacon/beaconEndpoint.js";
import type {CatchUpReport} from "../roles/store/catchUp.js";
import type {DoppelgangerState, DoppelgangerStatus} from "../roles/validator/signing/doppelganger.js";
import type {R3dvNode} from "./node.js";
import type {VerifyMode} from "./config.js";
import type {VerdictSummary} from "../roles/evm/verdictBook.js";
import type {PeerViewSummary} from "../roles/evm/peerViews.js";

/** Validators listed by name in the status when not signing: enough to act on, bounded for 10,000 validators. */
const DOPPELGANGER_LISTED = 50;

export interface PeerStatus {
  operator: number;
  peerId: string;
  address: string;
  connected: boolean;
  rttMs?: number;
  clockOffsetMs?: number;
  accepted: number;
  refused: number;
  rateLimited: number;
}

export interface NodeStatus {
  cluster: {
    name: string;
    lockHash: string;
    threshold: number;
    operators: number;
    /** A reshared lock's predecessor; the epochs this node signs in (from the switch, until a retirement). */
    resharedFrom?: string;
    signsFromEpoch?: number;
    retiredFromEpoch?: number;
  };
  node: {operator: number; peerId: string; listen: string[]; http?: string; ipc: string; uptimeSec: number};
  slot?: number;
  ready: {ready: boolean; peersConnected: number; peersNeeded: number; beaconSynced: boolean};
  peers: PeerStatus[];
  /** Every beacon node in --beacon-node order, redacted, with its health and probe latency. */
  beacons: BeaconEndpointStatus[];
  series: {entries: number; bytes: number; budget: number; lastSeq: number; headHash: string};
  limiters: {
    received: number;
    accepted: Record<string, number>;
    refused: Record<string, number>;
    duplicate: number;
    fetched: number;
    queueDepth: number;
    writesInFlight: number;
    ethBlocksThisEpoch: Record<string, number>;
  };
  eventLoopDelayP99Ms: number;
  lastCatchUp?: CatchUpReport;
  /** Validators per doppelganger protection state, and the first of those not signing, with why. */
  doppelganger: {counts: Record<DoppelgangerState, number>; notSigning: DoppelgangerStatus[]};
  /** The EVM role's block verification (`--verify`): the anchor it started from and its newest verdicts. */
  verification: {
    mode: VerifyMode;
    anchorSlot?: number;
    /** Each peer's block views (`eth_block` chunks) heard since start: counts by verdict, the newest slot. */
    peers?: Record<string, PeerViewSummary>;
  } & Partial<VerdictSummary>;
}

export function buildStatus(n: R3dvNode, ready: NodeStatus["ready"], loopP99Ms: number, uptimeMs: number): NodeStatus {
  const v = n.series.views;
  return {
    cluster: {
      name: n.lock.name,
      lockHash: n.lock.lock_hash,
      threshold: n.lock.threshold,
      operators: n.lock.operators.length,
      ...(n.lock.reshared_from ? {resharedFrom: n.lock.reshared_from.lock_hash} : {}),
      ...(n.validator.signingTerm
        ? {signsFromEpoch: n.validator.signingTerm.fromEpoch, retiredFromEpoch: n.validator.signingTerm.untilEpoch}
        : {}),
    },
    node: {
      operator: n.self,
      peerId: n.peerId,
      listen: n.dht.listenAddrs(),
      http: n.httpAddress,
      ipc: n.opts.ipc,
      uptimeSec: Math.round(uptimeMs / 1000),
    },
    slot: n.currentSlot(),
    ready,
    peers: n.peers(),
    beacons: n.beacon.status(),
    series: {
      entries: v.entries,
      bytes: v.bytesStored,
      budget: n.opts.storageBudget,
      lastSeq: v.lastSeq,
      headHash: n.series.headHash,
    },
    limiters: {
      received: n.store.stats.received,
      accepted: v.accepted,
      refused: v.refused,
      duplicate: n.store.stats.duplicate,
      fetched: n.store.stats.fetched,
      queueDepth: n.store.queueDepth,
      writesInFlight: n.store.writesInFlight,
      ethBlocksThisEpoch: v.ethBlocks.byOrigin,
    },
    eventLoopDelayP99Ms: loopP99Ms,
    lastCatchUp: n.store.catchUps.last,
    doppelganger: {
      counts: n.validator.doppelgangerCounts(),
      notSigning: n.validator.doppelgangerNotSigning(DOPPELGANGER_LISTED),
    },
    verification: n.verificationStatus(),
  };
}
