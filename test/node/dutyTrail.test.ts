import assert from "node:assert/strict";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, describe, it} from "node:test";
import {encodeChunk} from "../../src/hotpath/chunk.js";
import {buildDutyTrail, formatDutyTrail, windowedResults} from "../../src/node/dutyTrail.js";
import {UNKNOWN_VALIDATOR} from "../../src/roles/validator/tracking/dutyFetchFailures.js";
import {encodePartialSigs} from "../../src/roles/validator/exchange/partialSigs.js";
import {encodeSignedQbft} from "../../src/roles/validator/consensus/codec.js";
import type {QbftType} from "../../src/roles/validator/consensus/types.js";
import {jsonBody} from "../../src/storage/entry.js";
import {Series} from "../../src/storage/series.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, {recursive: true, force: true});
});

const PK = (i: number) => "0x" + String(i).padStart(2, "0").repeat(48);
const SLOT = 42;

function qbft(origin: number, type: QbftType, round = 1, slot = SLOT): Uint8Array {
  const payload = encodeSignedQbft({
    msg: {
      instance: `attester/${slot}`,
      type,
      round,
      sender: origin,
      valueHash: new Uint8Array(32),
      value: null,
      preparedRound: 0,
    },
    sig: new Uint8Array(64),
    justification: [],
  });
  return encodeChunk({kind: "qbft", slot, origin, seq: 1, t: 1, payload, sig: new Uint8Array(64)});
}

function partials(origin: number, pubkeys: string[]): Uint8Array {
  const payload = encodePartialSigs({
    duty: "attester",
    slot: SLOT,
    sigs: pubkeys.map((pubkey) => ({pubkey, root: "0x" + "11".repeat(32), sig: "0x" + "22".repeat(96)})),
  });
  return encodeChunk({kind: "partial_sig", slot: SLOT, origin, seq: 2, t: 1, payload, sig: new Uint8Array(64)});
}

/** A real series holding what node 1 saw of slot 42: nodes 3 and 4 silent, node 3 speaking only after the outcome. */
async function seriesOfMissedSlot(): Promise<Series> {
  const dir = await mkdtemp(join(tmpdir(), "r3dv-trail-"));
  dirs.push(dir);
  const s = await Series.open({dir, lockHash: "0x" + "ab".repeat(32), operator: 1, budgetBytes: 1e9, slotsPerEpoch: 8});
  await s.appendChunk("chunk_sent", 0, qbft(1, "ROUND_CHANGE", 2), "flushed");
  await s.appendChunk("chunk_accepted", 2, qbft(2, "ROUND_CHANGE", 2), "flushed");
  await s.appendChunk("chunk_accepted", 2, qbft(2, "PREPARE", 1, SLOT + 1), "flushed");
  for (const [v, pubkey] of [
    [7, PK(7)],
    [9, PK(9)],
  ] as const) {
    const result = {
      duty: "attester",
      slot: SLOT,
      pubkey,
      validatorIndex: v,
      status: "failed",
      reason: "no_quorum",
      missing: [3, 4],
      detail: "consensus attester/42: heard 2 of the 3 nodes a decision needs; nothing from node(s) 3, 4",
      stages: {fetch: 5},
    };
    await s.append("duty_result", jsonBody(result), "flushed", SLOT);
  }
  await s.append(
    "duty_result",
    jsonBody({duty: "attester", slot: SLOT + 1, pubkey: PK(7), validatorIndex: 7, status: "submitted", stages: {}}),
    "flushed",
    SLOT + 1,
  );
  await s.appendChunk("chunk_accepted", 3, qbft(3, "ROUND_CHANGE", 3), "flushed");
  return s;
}

describe("duty trail", () => {
  it("puts the reason and the missing nodes first, shows who took part, and who spoke only after the outcome", async () => {
    const s = await seriesOfMissedSlot();
    try {
      const entries = s.entriesBySlot(SLOT);
      assert.equal(entries.length, 5, "the slot's chunks and results only, not the next slot's");
      const trail = buildDutyTrail(entries, 1, SLOT, undefined);
      assert.equal(
        trail.headline,
        `slot ${SLOT}: 2 attester FAILED no_quorum missing node(s) 3, 4 (consensus attester/42: heard 2 of the 3 nodes a decision needs; nothing from node(s) 3, 4)`,
      );
      assert.deepEqual(trail.consensus, [{instance: `attester/${SLOT}`, nodes: [1, 2], messages: 3, lateNodes: [3]}]);
      const text = formatDutyTrail(trail);
      assert.match(text, /attester\/42: nodes 1, 2; 3 messages; no decision seen; node\(s\) 3 only after the outcome/);
      assert.equal(text.split("\n")[0], trail.headline);
    } finally {
      await s.close();
    }
  });

  it("narrows to one validator: its results and only the partial batches that carry its signature", async () => {
    const dir = await mkdtemp(join(tmpdir(), "r3dv-trail-"));
    dirs.push(dir);
    const s = await Series.open({
      dir,
      lockHash: "0x" + "ab".repeat(32),
      operator: 1,
      budgetBytes: 1e9,
      slotsPerEpoch: 8,
    });
    try {
      await s.appendChunk("chunk_sent", 0, partials(1, [PK(7), PK(9)]), "flushed");
      await s.appendChunk("chunk_accepted", 2, partials(2, [PK(9)]), "flushed");
      await s.appendChunk("chunk_accepted", 4, partials(4, [PK(7)]), "flushed");
      await s.append(
        "duty_result",
        jsonBody({
          duty: "attester",
          slot: SLOT,
          pubkey: PK(7),
          validatorIndex: 7,
          status: "submitted",
          invalidPartials: [4],
          stages: {submit: 300},
        }),
        "flushed",
        SLOT,
      );
      await s.append(
        "duty_result",
        jsonBody({
          duty: "attester",
          slot: SLOT,
          pubkey: PK(9),
          validatorIndex: 9,
          status: "submitted",
          stages: {submit: 310},
        }),
        "flushed",
        SLOT,
      );
      const trail = buildDutyTrail(s.entriesBySlot(SLOT), 1, SLOT, undefined, 7);
      assert.deepEqual(
        trail.results.map((r) => r.validatorIndex),
        [7],
      );
      assert.deepEqual(trail.partials, [{duty: "attester", nodes: [1, 4]}]);
      assert.match(trail.headline, /^slot 42, validator 7: 1 attester SUBMITTED invalid partial\(s\) from node\(s\) 4/);
      const all = buildDutyTrail(s.entriesBySlot(SLOT), 1, SLOT, undefined);
      assert.deepEqual(all.partials, [{duty: "attester", nodes: [1, 2, 4]}]);
    } finally {
      await s.close();
    }
  });

  it("names a failed attestation before more numerous sync contribution failures", async () => {
    const s = await seriesOfMissedSlot();
    try {
      for (const v of [20, 21, 22]) {
        await s.append(
          "duty_result",
          jsonBody({
            duty: "sync_contribution",
            slot: SLOT,
            pubkey: PK(v),
            validatorIndex: v,
            subcommitteeIndex: 0,
            status: "failed",
            reason: "no_quorum",
            missing: [2, 3, 4],
          }),
          "flushed",
          SLOT,
        );
      }
      const trail = buildDutyTrail(s.entriesBySlot(SLOT), 1, SLOT, undefined);
      assert.match(
        trail.headline,
        /^slot 42: 2 attester FAILED no_quorum missing node\(s\) 3, 4 .*; 1 other outcome\(s\) worth a look below$/,
      );
    } finally {
      await s.close();
    }
  });

  it("says whose block a proposal was with the builder API, why this node fell back, and which stages overran", async () => {
    const s = await seriesOfMissedSlot();
    try {
      await s.append(
        "duty_result",
        jsonBody({
          duty: "proposer",
          slot: SLOT,
          pubkey: PK(5),
          validatorIndex: 5,
          status: "submitted",
          path: "local",
          pathDetail: "the builder path gave no block within 667 ms of the slot's start; proposed a local block",
          stages: {fetch: 900},
          overBudget: ["fetch"],
        }),
        "flushed",
        SLOT,
      );
      const text = formatDutyTrail(buildDutyTrail(s.entriesBySlot(SLOT), 1, SLOT, undefined));
      assert.match(
        text,
        /proposer validator 5: submitted local block \(the builder path gave no block within 667 ms of the slot's start; proposed a local block\) over budget: fetch \[fetch 900 ms\]/,
      );
    } finally {
      await s.close();
    }
  });

  it("shows a duty whose slot is unknown (its epoch's duties never fetched) for every slot of its window", async () => {
    const dir = await mkdtemp(join(tmpdir(), "r3dv-trail-"));
    dirs.push(dir);
    const s = await Series.open({
      dir,
      lockHash: "0x" + "ab".repeat(32),
      operator: 1,
      budgetBytes: 1e9,
      slotsPerEpoch: 8,
    });
    // Slots 40-47 share an epoch under both presets (8 and 32 slots); the results sit at the first blind slot.
    const window = {from: 40, to: 45};
    const detail =
      "attester duties of epoch 5 were never fetched (slots 40-45 ran without them), so the duty's slot is unknown: HTTP 500";
    try {
      for (const v of [7, 9]) {
        await s.append(
          "duty_result",
          jsonBody({
            duty: "attester",
            slot: 40,
            pubkey: PK(v),
            validatorIndex: v,
            status: "failed",
            reason: "duty_fetch_failed",
            detail,
            window,
            stages: {},
          }),
          "flushed",
          40,
        );
      }
      await s.append(
        "duty_result",
        jsonBody({
          duty: "proposer",
          slot: 40,
          pubkey: "",
          validatorIndex: UNKNOWN_VALIDATOR,
          status: "failed",
          reason: "duty_fetch_failed",
          detail,
          window,
          stages: {},
        }),
        "flushed",
        40,
      );
      const at = (slot: number) =>
        buildDutyTrail(
          [...windowedResults((x) => s.entriesBySlot(x), slot), ...s.entriesBySlot(slot)],
          1,
          slot,
          undefined,
        );
      const trail = at(44);
      assert.equal(trail.results.length, 3);
      assert.equal(
        trail.headline,
        `slot 44: 2 attester FAILED duty_fetch_failed (${detail}); 1 other outcome(s) worth a look below`,
      );
      assert.match(formatDutyTrail(trail), /proposer \(validators unknown\): failed duty_fetch_failed/);
      assert.equal(at(40).results.length, 3, "at its own slot, counted once");
      assert.equal(at(46).results.length, 0, "outside its window");
    } finally {
      await s.close();
    }
  });
});
