import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {
  DutyWindow,
  HEALTH_CHECK_NAMES,
  HEALTH_WINDOW_SLOTS,
  type HealthReport,
  WindowedTotal,
  healthReport,
} from "../../src/node/health.js";
import type {NodeStatus} from "../../src/node/status.js";

/** A healthy node's status: four operators all connected, one synced beacon node, a small series. */
function status(change: (s: NodeStatus) => void = () => undefined): NodeStatus {
  const s: NodeStatus = {
    cluster: {name: "c", lockHash: "0x00", threshold: 3, operators: 4},
    node: {operator: 1, peerId: "p", listen: [], ipc: "/tmp/s", uptimeSec: 100},
    slot: 200,
    ready: {ready: true, peersConnected: 3, peersNeeded: 2, beaconSynced: true},
    peers: [2, 3, 4].map((operator) => ({
      operator,
      peerId: `p${operator}`,
      address: "127.0.0.1:9000",
      connected: true,
      rttMs: 1,
      clockOffsetMs: 5,
      accepted: 10,
      refused: 0,
      rateLimited: 0,
    })),
    beacons: [{index: 1, url: "http://b1", health: "healthy", failures: 0, latencyMs: 20}],
    series: {entries: 10, bytes: 1000, budget: 100_000, lastSeq: 10, headHash: "0x00"},
    limiters: {
      received: 0,
      accepted: {},
      refused: {},
      duplicate: 0,
      fetched: 0,
      queueDepth: 0,
      writesInFlight: 0,
      ethBlocksThisEpoch: {},
    },
    eventLoopDelayP99Ms: 10,
    doppelganger: {counts: {checking: 0, safe: 64, live_elsewhere: 0, off: 0}, notSigning: []},
    verification: {mode: "off"},
  };
  change(s);
  return s;
}

const quiet = {
  attester: {total: 0, failed: 0, reasons: {}},
  proposer: {total: 0, failed: 0, reasons: {}},
  decided: 0,
  laterRound: 0,
};
const failing = (h: HealthReport) => h.checks.filter((c) => !c.ok).map((c) => `${c.severity} ${c.name}`);

describe("health checks", () => {
  it("pass on a healthy node, one check a name", () => {
    const h = healthReport(status(), quiet, {now: 0, windowAgo: 0});
    assert.equal(h.status, "ok");
    assert.deepEqual(
      h.checks.map((c) => c.name),
      [...HEALTH_CHECK_NAMES],
    );
    assert.ok(h.checks.every((c) => c.action === undefined));
  });

  it("each fails on its own fault, with its severity and what to do", () => {
    const cases: [string, NodeStatus, Parameters<typeof healthReport>[1], number, string[]][] = [
      [
        "a stopped beacon node",
        status((s) => {
          s.ready.beaconSynced = false;
          s.beacons = [{index: 1, url: "http://b1", health: "benched", reason: "unreachable", failures: 3}];
        }),
        quiet,
        0,
        ["critical beacon_synced", "warning beacon_all_healthy"],
      ],
      [
        "a slow beacon node",
        status((s) => {
          (s.beacons[0] as {latencyMs: number}).latencyMs = 1500;
        }),
        quiet,
        0,
        ["warning beacon_latency"],
      ],
      [
        "two peers killed",
        status((s) => {
          s.ready.peersConnected = 1;
          for (const p of s.peers.slice(1)) p.connected = false;
        }),
        quiet,
        0,
        ["critical peers_quorum", "warning peers_all"],
      ],
      [
        "a peer's skewed clock",
        status((s) => {
          (s.peers[0] as {clockOffsetMs: number}).clockOffsetMs = -350;
        }),
        quiet,
        0,
        ["warning peer_clock_offset"],
      ],
      [
        "failing attestations and a failed proposal, most decided in round 2",
        status(),
        {
          attester: {total: 64, failed: 8, reasons: {no_quorum: 8}},
          proposer: {total: 8, failed: 1, reasons: {late_block: 1}},
          decided: 72,
          laterRound: 30,
        },
        0,
        ["critical attester_duties", "critical proposals", "warning consensus_rounds"],
      ],
      ["limiter refusals in the window", status(), quiet, 5, ["warning limiter_refusals"]],
      [
        "a full storage budget",
        status((s) => {
          s.series.bytes = 95_000;
        }),
        quiet,
        0,
        ["warning storage_budget"],
      ],
      [
        "a lagging event loop",
        status((s) => {
          s.eventLoopDelayP99Ms = 450;
        }),
        quiet,
        0,
        ["warning event_loop"],
      ],
      [
        "a validator's key live elsewhere",
        status((s) => {
          s.doppelganger = {
            counts: {checking: 0, safe: 63, live_elsewhere: 1, off: 0},
            notSigning: [{pubkey: "0xab", index: 7, state: "live_elsewhere", detail: "live in epoch 3", liveEpoch: 3}],
          };
        }),
        quiet,
        0,
        ["critical doppelganger"],
      ],
      [
        "block verification (enforced) 6 slots behind the clock",
        status((s) => {
          s.verification = {
            mode: "enforce",
            anchorSlot: 0,
            lastVerifiedSlot: 194,
            counts: {verified: 190, invalid: 0, unavailable: 0},
          };
        }),
        quiet,
        0,
        ["critical block_verification"],
      ],
      [
        "block verification (advisory) with no anchor state yet",
        status((s) => {
          s.verification = {mode: "advisory"};
        }),
        quiet,
        0,
        ["warning block_verification"],
      ],
    ];
    const MiB = 2 ** 20;
    for (const [what, trends, expected] of [
      [
        "a block refused for its fee recipient",
        {feeRecipientMismatches: 1, anonResidentBytes: 300 * MiB, anonResidentLowestBytes: 300 * MiB},
        "warning fee_recipient",
      ],
      [
        "memory 600 MiB above the hour's lowest",
        {feeRecipientMismatches: 0, anonResidentBytes: 900 * MiB, anonResidentLowestBytes: 300 * MiB},
        "warning memory",
      ],
    ] as const) {
      const h = healthReport(status(), quiet, {now: 0, windowAgo: 0}, trends);
      assert.deepEqual(failing(h), [expected], what);
      assert.equal(h.status, "warning", what);
    }
    // A start's growth is not a leak.
    const grown = healthReport(
      status(),
      quiet,
      {now: 0, windowAgo: 0},
      {feeRecipientMismatches: 0, anonResidentBytes: 400 * MiB, anonResidentLowestBytes: 120 * MiB},
    );
    assert.equal(grown.status, "ok");
    for (const [what, s, duties, refused, expected] of cases) {
      const h = healthReport(s, duties, {now: 7 + refused, windowAgo: 7});
      assert.deepEqual(failing(h), expected, what);
      assert.equal(h.status, expected.some((e) => e.startsWith("critical")) ? "critical" : "warning", what);
      for (const c of h.checks.filter((x) => !x.ok)) assert.ok((c.action ?? "").length > 20, `${what}: ${c.name}`);
    }
    const clock = healthReport(
      status((s) => ((s.peers[0] as {clockOffsetMs: number}).clockOffsetMs = -350)),
      quiet,
      {
        now: 0,
        windowAgo: 0,
      },
    );
    assert.match(clock.checks.find((c) => c.name === "peer_clock_offset")?.detail ?? "", /operator 2 -350 ms off/);
  });

  it("counts the last two epochs' duty results, forgetting older slots", () => {
    const w = new DutyWindow();
    w.record({duty: "attester", slot: 10, status: "failed", reason: "no_quorum", round: 1});
    w.record({duty: "attester", slot: 10 + HEALTH_WINDOW_SLOTS, status: "submitted", round: 2});
    w.record({duty: "proposer", slot: 11 + HEALTH_WINDOW_SLOTS, status: "failed", reason: "late_block", round: 1});
    w.record({duty: "sync_message", slot: 11 + HEALTH_WINDOW_SLOTS, status: "submitted"});
    const c = w.counts(11 + HEALTH_WINDOW_SLOTS);
    assert.deepEqual(c.attester, {total: 1, failed: 0, reasons: {}}, "slot 10 is out of the window");
    assert.deepEqual(c.proposer, {total: 1, failed: 1, reasons: {late_block: 1}});
    assert.deepEqual([c.decided, c.laterRound], [2, 1]);
  });

  it("counts a growing total within the window: the lowest sample of the last two epochs is its start", () => {
    const w = new WindowedTotal();
    assert.equal(w.record(0, 5), 5);
    assert.equal(w.record(10, 7), 5);
    assert.equal(w.record(HEALTH_WINDOW_SLOTS, 9), 5, "slot 0 is still in the window");
    assert.equal(w.record(HEALTH_WINDOW_SLOTS + 20, 12), 9, "slots 0 and 10 have left it");
  });
});
