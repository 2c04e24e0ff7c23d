import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {type EpochDutiesAnswer, EpochDuties} from "../../../../src/roles/validator/schedule/epochDuties.js";
import type {DutyOutcome} from "../../../../src/roles/validator/tracking/outcome.js";
import {createLogger} from "../../../../src/util/logger.js";

interface TestDuty {
  slot: number;
  who: string;
}

/** EpochDuties over a scripted beacon node: each fetch of an epoch takes the next answer (or error) queued for it. */
function scripted() {
  const answers = new Map<number, (EpochDutiesAnswer<TestDuty> | Error)[]>();
  const asked: number[] = [];
  const late: [TestDuty, DutyOutcome][] = [];
  const duties = new EpochDuties<TestDuty>({
    duty: "attester",
    fetch: (epoch) => {
      asked.push(epoch);
      const next = answers.get(epoch)?.shift();
      if (!next) return Promise.reject(new Error(`nothing scripted for epoch ${epoch}`));
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    logger: createLogger("error"),
    onFetchedLate: (d, outcome) => late.push([d, outcome]),
  });
  const answer = (epoch: number, ...a: (EpochDutiesAnswer<TestDuty> | Error)[]) =>
    answers.set(epoch, [...(answers.get(epoch) ?? []), ...a]);
  return {duties, asked, late, answer};
}

const S = SLOTS_PER_EPOCH;

describe("EpochDuties", () => {
  it("takes duties fetched ahead of their epoch as a guess: the epoch's first slot waits for its own fetch, which replaces them", async () => {
    const {duties, asked, answer} = scripted();
    // The guess before the epoch started, and the chain's answer at its start, under the same dependent root
    // (as Lodestar 1.5.1 gives a next epoch's proposers from its head state).
    answer(2, {dependentRoot: "0xa", duties: [{slot: 2 * S, who: "guess"}]});
    answer(2, {dependentRoot: "0xa", duties: [{slot: 2 * S, who: "chain"}]});
    await duties.ensure(2, false, true);
    assert.deepEqual(
      duties.at(2 * S)?.map((d) => d.who),
      ["guess"],
    );
    const first = duties.forSlot(2 * S);
    // Not resolved before the epoch's own fetch answered: the slot acts on the chain's answer only.
    await first;
    assert.deepEqual(
      duties.at(2 * S)?.map((d) => d.who),
      ["chain"],
    );
    assert.deepEqual(asked, [2, 2]);
    // Settled: later slots neither wait nor ask again, and a late guess does not undo it.
    await duties.forSlot(2 * S + 1);
    answer(2, {dependentRoot: "0xb", duties: [{slot: 2 * S, who: "late guess"}]});
    await duties.ensure(2, true, true);
    assert.deepEqual(
      duties.at(2 * S)?.map((d) => d.who),
      ["chain"],
    );
  });

  it("keeps an epoch's duties by slot, and asks again only at the epoch's start", async () => {
    const {duties, asked, answer} = scripted();
    answer(1, {
      dependentRoot: "0xa",
      duties: [
        {slot: S + 2, who: "v1"},
        {slot: S + 2, who: "v2"},
        {slot: S + 5, who: "v3"},
      ],
    });
    await duties.forSlot(S + 1);
    assert.deepEqual(
      duties.at(S + 2)?.map((d) => d.who),
      ["v1", "v2"],
    );
    assert.deepEqual(
      duties.at(S + 5)?.map((d) => d.who),
      ["v3"],
    );
    await duties.forSlot(S + 2);
    assert.deepEqual(asked, [1], "known mid-epoch: not asked again");
  });

  it("replaces an epoch's duties when the refresh at its start returns another dependent root (a reorg)", async () => {
    const {duties, answer} = scripted();
    answer(1, {dependentRoot: "0xa", duties: [{slot: S + 2, who: "old"}]});
    await duties.ensure(1, false);
    answer(1, {dependentRoot: "0xb", duties: [{slot: S + 3, who: "new"}]});
    // The slot runs with what it knew; the refresh lands behind it.
    await duties.forSlot(S);
    await new Promise((r) => setImmediate(r));
    assert.equal(duties.at(S + 2), undefined, "the old shuffling's duty is gone");
    assert.deepEqual(
      duties.at(S + 3)?.map((d) => d.who),
      ["new"],
    );
  });

  it("keeps its duties when the refresh returns the same root or fails", async () => {
    const {duties, answer} = scripted();
    answer(1, {dependentRoot: "0xa", duties: [{slot: S + 2, who: "v1"}]});
    await duties.ensure(1, false);
    answer(1, {dependentRoot: "0xa", duties: []}, new Error("HTTP 503"));
    await duties.ensure(1, true);
    await duties.ensure(1, true);
    assert.deepEqual(
      duties.at(S + 2)?.map((d) => d.who),
      ["v1"],
    );
    assert.ok(duties.known(1));
  });

  it("reports each duty of a slot that came due blind once its epoch is fetched, with the fetch's error", async () => {
    const {duties, late, answer} = scripted();
    answer(2, new Error("HTTP 500 from the beacon node"));
    await duties.forSlot(2 * S);
    assert.equal(duties.known(2), false);
    duties.ranBlind(2 * S + 1);
    answer(2, {
      dependentRoot: "0xc",
      duties: [
        {slot: 2 * S + 1, who: "missed"},
        {slot: 2 * S + 4, who: "ahead"},
      ],
    });
    await duties.forSlot(2 * S + 2);
    assert.deepEqual(
      late.map(([d, o]) => [d.who, o.reason]),
      [["missed", "duty_fetch_failed"]],
      "only the duty in the blind slot failed; the one still ahead will run",
    );
    assert.match(late[0]?.[1].detail ?? "", /HTTP 500/);
  });

  it("lets a fetch ahead of its epoch fail quietly: only the epoch's own failed fetch is reported", async () => {
    const {duties, answer} = scripted();
    answer(3, new Error("not known yet"));
    await duties.ensure(3, false, true);
    duties.ranBlind(3 * S);
    const [u] = duties.takeUnfetched(4);
    assert.match(u?.outcome.detail ?? "", /no answer yet/, "the ahead failure is not the epoch's error");
  });

  it("forgets slots and epochs before the pruned slot", async () => {
    const {duties, asked, answer} = scripted();
    answer(1, {dependentRoot: "0xa", duties: [{slot: S + 2, who: "v1"}]});
    await duties.ensure(1, false);
    duties.prune(2 * S);
    assert.equal(duties.at(S + 2), undefined);
    assert.equal(duties.known(1), false);
    answer(1, {dependentRoot: "0xa", duties: []});
    await duties.ensure(1, false);
    assert.deepEqual(asked, [1, 1]);
  });
});
