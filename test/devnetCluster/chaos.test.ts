import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {DEFAULT_CHAOS, downAfter, parseChaos} from "../../src/devnetCluster/chaos.js";
import {type DevnetRunFlags, parseRunOptions} from "../../src/devnetCluster/options.js";

const flags = (f: Partial<DevnetRunFlags> = {}): DevnetRunFlags => ({
  nodes: "4",
  validators: "64",
  epochs: "8",
  slotSeconds: "2",
  chaos: DEFAULT_CHAOS,
  out: "x",
  genesisDelay: "15",
  verify: "enforce",
  logLevel: "info",
  ...f,
});

describe("devnet chaos schedule and options", () => {
  it("parses a schedule and knows which nodes are down after each epoch", () => {
    const events = parseChaos("kill:1@1,kill:2@1,start:1@3,start:2@3", 4, 4);
    assert.deepEqual(
      events.map((e) => `${e.action}:${e.node}@${e.epoch}`),
      ["kill:1@1", "kill:2@1", "start:1@3", "start:2@3"],
    );
    assert.deepEqual([...downAfter(events, 2)], [1, 2]);
    assert.deepEqual([...downAfter(events, 3)], []);
  });

  it("expands a restart into a kill and a start, and restart-all into one node an epoch", () => {
    assert.deepEqual(
      parseChaos("restart:3@2", 4, 8).map((e) => `${e.action}:${e.node}@${e.epoch}`),
      ["kill:3@2", "start:3@2"],
    );
    assert.deepEqual(
      parseChaos("kill:2@1,start:2@2,restart-all@3", 4, 8).map((e) => `${e.action}:${e.node}@${e.epoch}`),
      [
        "kill:2@1",
        "start:2@2",
        "kill:1@3",
        "start:1@3",
        "kill:2@4",
        "start:2@4",
        "kill:3@5",
        "start:3@5",
        "kill:4@6",
        "start:4@6",
      ],
    );
    assert.deepEqual(
      parseChaos("kill:2@1,start:2@2,restart-all@3", 4, 8).map((e) => e.rolling ?? false),
      [false, false, true, true, true, true, true, true, true, true],
      "only restart-all's parts wait for the node before them",
    );
    assert.deepEqual([...downAfter(parseChaos("restart-all@1", 4, 8), 4)], []);
    assert.throws(() => parseChaos("restart-all@6", 4, 8), /kill:3@8: the run covers epochs 0 to 7/);
  });

  it("schedules an invalid head as the beacon node's fault, which takes no node down", () => {
    const events = parseChaos("invalid-head@3,kill:2@1,start:2@2", 4, 8);
    assert.deepEqual(
      events.map((e) => `${e.action}:${e.node}@${e.epoch}`),
      ["kill:2@1", "start:2@2", "invalid_head:0@3"],
    );
    assert.deepEqual([...downAfter(events, 3)], []);
    assert.throws(() => parseChaos("invalid-head@8", 4, 8), /the run covers epochs 0 to 7/);
    assert.throws(() => parseChaos("invalid-head@0", 4, 8), /schedule faults from epoch 1/);
    // An invalid payload: the same beacon node fault, its block consensus-valid and its payload wrong.
    assert.deepEqual(parseChaos("invalid-payload@2,invalid-tx@3", 4, 8), [
      {action: "invalid_head", node: 0, epoch: 2, payload: "state_root"},
      {action: "invalid_head", node: 0, epoch: 3, payload: "failing_tx"},
    ]);
    assert.equal(parseChaos("invalid-head@2", 4, 8)[0]?.payload, undefined);
  });

  it("refuses schedules that cannot run, saying why", () => {
    assert.throws(() => parseChaos("kill:5@1", 4, 8), /node 5 does not exist; nodes are 1 to 4/);
    assert.throws(() => parseChaos("start:2@1", 4, 8), /node 2 is running then; kill it first/);
    assert.throws(() => parseChaos("kill:2@1,kill:2@2", 4, 8), /already down/);
    assert.throws(() => parseChaos("kill:2@9", 4, 8), /the run covers epochs 0 to 7/);
    assert.throws(() => parseChaos("start:2@0", 4, 8), /schedule starts and restarts from epoch 1/);
    assert.throws(() => parseChaos("restart:2@0", 4, 8), /schedule starts and restarts from epoch 1/);
    // Down from genesis: an operator's machine off when the cluster starts.
    assert.deepEqual(
      parseChaos("kill:6@0,kill:7@0", 7, 3).map((e) => `${e.action}:${e.node}@${e.epoch}`),
      ["kill:6@0", "kill:7@0"],
    );
    assert.throws(() => parseChaos("stop:2@1", 4, 8), /not ACTION:NODE@EPOCH \(ACTION kill, start or restart\)/);
  });

  it("checks every flag, and names the default schedule when it does not fit the run", () => {
    const o = parseRunOptions(flags());
    assert.equal(o.threshold, 3);
    assert.deepEqual(
      o.chaos.map((e) => e.action),
      ["invalid_head", "kill", "start", "invalid_head"],
    );
    assert.equal(o.slotMs, 2000);
    assert.equal(parseRunOptions(flags({slotSeconds: "4"})).slotMs, 4000);
    assert.throws(() => parseRunOptions(flags({slotSeconds: "1"})), /--slot-seconds: expected an integer from 2 to 12/);
    assert.equal(parseRunOptions(flags({slotMs: "12000", validators: "2500"})).slotMs, 12000);
    assert.throws(() => parseRunOptions(flags({slotMs: "2500"})), /--slot-ms: expected a whole number of seconds/);
    assert.throws(() => parseRunOptions(flags({slotMs: "13000"})), /--slot-ms: expected an integer from 2000 to 12000/);
    assert.throws(
      () => parseRunOptions(flags({validators: "10001"})),
      /--validators: expected an integer from 8 to 10000/,
    );
    assert.deepEqual(parseRunOptions(flags({chaos: false})).chaos, []);
    assert.equal(parseRunOptions(flags({forever: true})).epochs, undefined);
    assert.throws(
      () => parseRunOptions(flags({epochs: "4"})),
      /default schedule invalid-head@1,kill:2@2,start:2@4,invalid-payload@5 does not fit .* --no-chaos/,
    );
    assert.throws(() => parseRunOptions(flags({threshold: "2"})), /not a majority/);
    assert.throws(() => parseRunOptions(flags({nodes: "0"})), /--nodes: expected an integer from 1 to 10/);
    assert.equal(parseRunOptions(flags()).verify, "enforce");
    assert.equal(parseRunOptions(flags({verify: "off"})).verify, "off");
    assert.throws(
      () => parseRunOptions(flags({verify: "on"})),
      /--verify: expected one of enforce, advisory, off, got "on"/,
    );
    assert.equal(parseRunOptions(flags()).latency, undefined);
    assert.deepEqual(parseRunOptions(flags({latency: "100/20"})).latency, {rttMs: 100, jitterMs: 20});
    assert.throws(() => parseRunOptions(flags({latency: "100ms"})), /--latency: expected RTT or RTT\/JITTER in ms/);
    assert.throws(() => parseRunOptions(flags({latency: "2000"})), /RTT up to 1000/);
    assert.equal(parseRunOptions(flags()).recoverers, undefined);
    assert.equal(parseRunOptions(flags({recoverers: "designated"})).recoverers, "designated");
    assert.throws(
      () => parseRunOptions(flags({recoverers: "some"})),
      /--recoverers: expected one of all, designated, got "some"/,
    );
  });
});
