import type {ClusterPeer} from "../dht/dhtRole.js";
import type {Admission} from "./admission.js";
import {CatchUp} from "./catchUp.js";
import type {StoreComponents} from "./components.js";
import {type FetchResult, fetchChunks} from "./fetchClient.js";
import {type FetchRequest, serveFetch} from "./fetchServer.js";
import {FETCH_PROTOCOL, type PushAnswer} from "./pushWire.js";

/**
 * A catch-up starts this long after the first peer connects: a debounce, so peers that come up together are
 * connected by the time it asks, and one catch-up serves them all.
 */
const CATCHUP_DELAY_MS = 300;

export interface FetchServiceInit {
  admission: Admission;
  /** A fetch's overall deadline (fetchClient.ts's FETCH_DEADLINE_MS unless set). */
  fetchDeadlineMs?: number;
  /** Most chunks one fetch answer may carry (FETCH_MAX_CHUNKS unless set). */
  fetchMaxChunks?: number;
}

/**
 * Chunks by request, both ways: serving `/r3dv/fetch/1` to members, fetching from a peer through the push
 * path's admission, and the catch-up that fetches what this node missed while cut off from every peer.
 */
export class FetchService {
  /** Fetching what this node missed while it was cut off from every peer. */
  readonly catchUps: CatchUp;

  constructor(
    private readonly c: StoreComponents,
    private readonly init: FetchServiceInit,
  ) {
    this.catchUps = new CatchUp({...c, fetch: (p, req) => this.fetch(p, req)});
  }

  /** Serves members' fetch requests from the series. */
  async start(): Promise<void> {
    const {dht, series, metrics} = this.c;
    await dht.libp2p.handle(FETCH_PROTOCOL, (stream, conn) => {
      if (!dht.byPeerId(conn.remotePeer.toString())) stream.abort(new Error("not a cluster member"));
      else void serveFetch(stream, series, metrics);
    });
  }

  /**
   * What this node missed is fetched only when it was cut off from every peer (just started, or isolated).
   * While any peer stays connected nothing is missed: chunks a peer could not deliver are pushed again by it
   * on reconnect (replication.ts), so a catch-up then would only re-read, re-verify and discard the whole range.
   */
  peerConnected(p: ClusterPeer): void {
    const wasIsolated = this.c.dht.connected().every((c) => c.index === p.index);
    if (wasIsolated) this.catchUps.start(CATCHUP_DELAY_MS);
  }

  /** Cut off from every peer: what the cluster does from now on must be fetched when a peer is back. */
  peerDisconnected(): void {
    if (this.c.dht.connected().length === 0) this.catchUps.cutOff();
  }

  async stop(): Promise<void> {
    await this.catchUps.stop();
  }

  /**
   * Asks one peer for chunks; each passes the push path's admission (paced by the peer's fetch budget). The
   * client enforces its request, a chunk cap and a deadline (fetchClient.ts). Returns how many were new.
   */
  async fetchFrom(p: ClusterPeer, req: FetchRequest): Promise<number> {
    return (await this.fetch(p, req)).added;
  }

  /** As fetchFrom, with what became of every chunk of the answer (what a catch-up needs to know it is done). */
  async fetch(p: ClusterPeer, req: FetchRequest): Promise<FetchResult> {
    const {admission, fetchDeadlineMs, fetchMaxChunks} = this.init;
    const {budgets, metrics} = this.c;
    const r = await fetchChunks(
      this.c.dht.libp2p,
      p,
      req,
      {
        waitMs: (peer, size) => budgets.of(peer, "fetch").waitMs(size, Date.now()),
        admit: (peer, encoded) =>
          new Promise<PushAnswer>((resolve) => admission.receive(peer, encoded, resolve, "fetch")),
      },
      {metrics, deadlineMs: fetchDeadlineMs, maxChunks: fetchMaxChunks},
    );
    await this.c.series.flush();
    this.c.stats.fetched += r.added;
    return r;
  }
}
