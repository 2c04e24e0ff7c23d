import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {setTimeout as sleep} from "node:timers/promises";
import {Piscina} from "piscina";
import {WORKER_EVENT_LOOP} from "../../src/workers/workerEventLoop.js";

const TASK = new URL("../helpers/eventLoopTask.js", import.meta.url).href;

/**
 * How long the worker stays idle between the two tasks. A worker drains every task message already queued in one
 * turn of its event loop (Node's MessagePort does), so without this pause "check" can arrive while the worker is still
 * in the turn that ran "schedule" (CI saw it once). A pool is idle between slots' bursts for far longer than this.
 */
const IDLE_MS = 200;

/** Runs "schedule", leaves the worker idle, then runs "check": did the work the first task left behind run? */
async function leftoverRan(options: {atomics?: "sync" | "disabled"}): Promise<boolean> {
  const pool = new Piscina({filename: TASK, minThreads: 1, maxThreads: 1, ...options});
  try {
    assert.equal(await pool.run("schedule"), true);
    await sleep(IDLE_MS);
    return (await pool.run("check")) as boolean;
  } finally {
    await pool.destroy();
  }
}

describe("worker pools run their threads' event loops when idle", () => {
  it("with the project's pool options, what a task leaves for the event loop (native finalizers) runs once the worker is idle", async () => {
    assert.equal(await leftoverRan(WORKER_EVENT_LOOP), true);
  });

  it("with Piscina's default (Atomics.wait between tasks) it never does, idle or not: why the option is set", async () => {
    assert.equal(await leftoverRan({atomics: "sync"}), false);
  });
});
