import {Counter, Gauge, Histogram, Registry, collectDefaultMetrics} from "prom-client";

/** Every metric the node exports, on its own registry (two nodes in one test process never share counters). */
export function createMetrics() {
  const register = new Registry();
  // Process metrics include nodejs_eventloop_lag_seconds: the main thread's health under a flood.
  collectDefaultMetrics({register, prefix: "r3dv_"});
  return {
    register,
    peersConnected: new Gauge({
      name: "r3dv_peers_connected",
      help: "cluster peers with an open connection",
      registers: [register],
    }),
    peerRtt: new Gauge({
      name: "r3dv_peer_rtt_seconds",
      help: "last ping round trip per peer",
      labelNames: ["peer"],
      registers: [register],
    }),
    peerClockOffset: new Gauge({
      name: "r3dv_peer_clock_offset_seconds",
      help: "peer clock minus ours, estimated from the time exchange",
      labelNames: ["peer"],
      registers: [register],
    }),
    connectionsRefused: new Counter({
      name: "r3dv_connections_refused_total",
      help: "connections the gater refused: stage address (inbound from no operator's address, before the handshake) or peer_id (not in the lock)",
      labelNames: ["direction", "stage"],
      registers: [register],
    }),
    dials: new Counter({
      name: "r3dv_dials_total",
      help: "dial attempts to cluster peers",
      labelNames: ["result"],
      registers: [register],
    }),
    chunksPushed: new Counter({
      name: "r3dv_chunks_pushed_total",
      help: "chunks this node pushed, by answer",
      labelNames: ["kind", "result"],
      registers: [register],
    }),
    chunksAccepted: new Counter({
      name: "r3dv_chunks_accepted_total",
      help: "chunks received and accepted",
      labelNames: ["kind"],
      registers: [register],
    }),
    chunksRefused: new Counter({
      name: "r3dv_chunks_refused_total",
      help: "chunks received and refused",
      labelNames: ["kind", "limiter", "reason"],
      registers: [register],
    }),
    pushBytesRead: new Counter({
      name: "r3dv_push_bytes_read_total",
      help: "bytes read from peers' push streams (admitted or not): what a flooder costs this node",
      labelNames: ["peer"],
      registers: [register],
    }),
    pushPauses: new Counter({
      name: "r3dv_push_pauses_total",
      help: "times a peer's push stream was paused for being over its budget (flow control)",
      labelNames: ["peer"],
      registers: [register],
    }),
    chunksDuplicate: new Counter({
      name: "r3dv_chunks_duplicate_total",
      help: "chunks received that this node already held",
      registers: [register],
    }),
    pushRtt: new Histogram({
      name: "r3dv_push_rtt_seconds",
      help: "push round trip: sent to answer",
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers: [register],
    }),
    admission: new Histogram({
      name: "r3dv_admission_seconds",
      help: "received to answered, by stage: verify (waiting for and checking the signature), queue, write (durable commit)",
      labelNames: ["stage"],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers: [register],
    }),
    queueDepth: new Gauge({
      name: "r3dv_inbound_queue_depth",
      help: "admitted chunks waiting to be stored",
      registers: [register],
    }),
    seriesEntries: new Gauge({
      name: "r3dv_series_entries",
      help: "entries in the series (after compaction)",
      registers: [register],
    }),
    seriesBytes: new Gauge({
      name: "r3dv_series_bytes",
      help: "bytes the series uses against the storage budget",
      registers: [register],
    }),
    healthFailing: new Gauge({
      name: "r3dv_health_check_failing",
      help: "1 while the named health check fails (r3dv health says what to do), 0 while it passes",
      labelNames: ["check", "severity"],
      registers: [register],
    }),
    seriesBudget: new Gauge({
      name: "r3dv_series_budget_bytes",
      help: "the series' storage budget (--storage-budget): past it the series is compacted",
      registers: [register],
    }),
    seriesAppends: new Counter({
      name: "r3dv_series_appends_total",
      help: "entries appended, by type",
      labelNames: ["type"],
      registers: [register],
    }),
    seriesErrors: new Counter({name: "r3dv_series_errors_total", help: "failed series writes", registers: [register]}),
    compactions: new Counter({name: "r3dv_series_compactions_total", help: "compactions run", registers: [register]}),
    workerQueue: new Gauge({
      name: "r3dv_worker_pool_queue",
      help: "tasks waiting for a limiter worker",
      registers: [register],
    }),
    limiterAudits: new Counter({
      name: "r3dv_limiter_audits_total",
      help: "long-window limiter evaluations in the worker pool, by result",
      labelNames: ["result"],
      registers: [register],
    }),
    slashingCommitRetries: new Counter({
      name: "r3dv_slashing_commit_retries_total",
      help: "slashing-protection commits LMDB refused and that were tried again (its free-space bookkeeping, under load)",
      registers: [register],
    }),
    fetchServed: new Counter({
      name: "r3dv_fetch_served_chunks_total",
      help: "chunks served to peers by /r3dv/fetch/1",
      registers: [register],
    }),
    partialSigsDropped: new Counter({
      name: "r3dv_partial_sigs_dropped_total",
      help: "partial signatures dropped before collection (unknown validator, not awaited and early buffer full, oversized batch), by reason",
      labelNames: ["reason"],
      registers: [register],
    }),
    doppelgangerValidators: new Gauge({
      name: "r3dv_doppelganger_validators",
      help: "validators by doppelganger protection state: checking (not signing yet), safe, live_elsewhere (never signing: another signer holds the key), off",
      labelNames: ["state"],
      registers: [register],
    }),
    exitPartials: new Counter({
      name: "r3dv_exit_partials_total",
      help: "partial voluntary exits this node signed (signed) or heard from peers (accepted, invalid, unknown_validator, malformed)",
      labelNames: ["result"],
      registers: [register],
    }),
    catchUp: new Counter({
      name: "r3dv_catchup_chunks_total",
      help: "missed chunks fetched from peers after a restart or reconnect",
      labelNames: ["result"],
      registers: [register],
    }),
    dhtOps: new Counter({
      name: "r3dv_dht_ops_total",
      help: "DHT provide and find operations",
      labelNames: ["op", "result"],
      registers: [register],
    }),
    dutyResults: new Counter({
      name: "r3dv_duty_results_total",
      help: "validator duties by outcome, as this node saw them",
      labelNames: ["duty", "status", "reason"],
      registers: [register],
    }),
    // Buckets span a 2 s devnet slot's third (667 ms) to a mainnet one (4 s): where a duty stands against its deadline.
    dutyStageSeconds: new Histogram({
      name: "r3dv_duty_stage_seconds",
      help: "time from a duty's start (attestation due time, slot start for proposals) to the end of each stage",
      labelNames: ["duty", "stage"],
      buckets: [0.05, 0.1, 0.25, 0.5, 0.667, 1, 2, 4, 8],
      registers: [register],
    }),
    proposalStagesOverBudget: new Counter({
      name: "r3dv_proposal_stages_over_budget_total",
      help: "proposal stages that ended after their budget (randao, fetch, consensus, sign, submit), by the block's path",
      labelNames: ["stage", "path"],
      registers: [register],
    }),
    inclusions: new Counter({
      name: "r3dv_attestation_inclusions_total",
      help: "submitted attestations as the chain shows them a few slots later: included (correct or wrong target), missed, or unknown (chain unreadable)",
      labelNames: ["outcome"],
      registers: [register],
    }),
    // Slots from the attestation's own to the block holding it: 1 is perfect, the window ends at 4.
    inclusionDelay: new Histogram({
      name: "r3dv_attestation_inclusion_delay_slots",
      help: "slots between an attestation's slot and the first block holding it",
      buckets: [1, 2, 3, 4],
      registers: [register],
    }),
    consensusRounds: new Counter({
      name: "r3dv_consensus_round_changes_total",
      help: "QBFT round changes this node started",
      registers: [register],
    }),
    // Beacon nodes are labelled by their redacted URL (scheme, host, port): credentials in a URL never reach a metric.
    beaconHealthy: new Gauge({
      name: "r3dv_beacon_node_healthy",
      help: "1 when the beacon node answered its last health probe as synced, 0 when benched or not yet probed",
      labelNames: ["beacon"],
      registers: [register],
    }),
    beaconLatency: new Gauge({
      name: "r3dv_beacon_node_latency_seconds",
      help: "moving average of the beacon node's health probe round trip (orders reads)",
      labelNames: ["beacon"],
      registers: [register],
    }),
    beaconRequests: new Counter({
      name: "r3dv_beacon_requests_total",
      help: "requests per beacon node, by kind (read, submit, probe) and result",
      labelNames: ["beacon", "kind", "result"],
      registers: [register],
    }),
    // From a local node's few ms to the 2 s timeout: where a read or submission spends the duty's budget.
    beaconRequestSeconds: new Histogram({
      name: "r3dv_beacon_request_seconds",
      help: "beacon node request duration, by kind",
      labelNames: ["beacon", "kind"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers: [register],
    }),
    beaconBenched: new Counter({
      name: "r3dv_beacon_benched_total",
      help: "times a beacon node was benched, by reason (unreachable, syncing, bad_response)",
      labelNames: ["beacon", "reason"],
      registers: [register],
    }),
    proposerPreparations: new Counter({
      name: "r3dv_proposer_preparations_total",
      help: "epochs' prepare_beacon_proposer calls (the lock's fee recipients told to the beacon nodes), by result (ok, unsupported, failed)",
      labelNames: ["result"],
      registers: [register],
    }),
    blockVerdicts: new Counter({
      name: "r3dv_evm_block_verdicts_total",
      help: "blocks the EVM role judged, by verdict (verified, invalid, unavailable) and reason (the failed check, or why it could not check)",
      labelNames: ["status", "reason"],
      registers: [register],
    }),
    // One block's verification in the state transition thread; the first block of an epoch carries the epoch
    // transition (tens of ms on the devnet), and a mainnet block's budget is a third of a 12 s slot.
    blockVerifySeconds: new Histogram({
      name: "r3dv_evm_block_verify_seconds",
      help: "time one block's verification took in the state transition thread, by stage (slots, signatures, block, hash, total)",
      labelNames: ["stage"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 4],
      registers: [register],
    }),
    headsReplaced: new Counter({
      name: "r3dv_heads_replaced_total",
      help: "duty results (--verify enforce) whose beacon node named a head this node had not verified (head_invalid) or not yet (head_unverified), and that voted for the newest verified block instead, by duty and reason",
      labelNames: ["duty", "reason"],
      registers: [register],
    }),
    blockViews: new Counter({
      name: "r3dv_block_views_total",
      help: "eth_block chunks (one node's verdict on one block, shared with its peers), by direction (sent; not_sent: a slot's allowance spent; received; malformed: a peer's chunk that is no block view) and verdict (valid, invalid, unverified)",
      labelNames: ["direction", "verdict"],
      registers: [register],
    }),
    blockViewContradictions: new Counter({
      name: "r3dv_block_view_contradictions_total",
      help: "blocks a peer found valid that this node found invalid, or the other way round (a client bug on one side, or a lying peer), by peer",
      labelNames: ["peer"],
      registers: [register],
    }),
    headsOnPeerViews: new Counter({
      name: "r3dv_heads_on_peer_views_total",
      help: "heads (--verify enforce) this node signed for on threshold peers' valid views before its own verification judged them",
      registers: [register],
    }),
    evmBootstraps: new Counter({
      name: "r3dv_evm_bootstraps_total",
      help: "times the EVM role loaded an anchor (finalized) state: once at start, again after a deep reorg or a failed thread",
      registers: [register],
    }),
    consensusRejected: new Counter({
      name: "r3dv_consensus_rejected_total",
      help: "QBFT messages refused, by reason",
      labelNames: ["reason"],
      registers: [register],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
