import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {Piscina} from "piscina";
import {WORKER_EVENT_LOOP} from "../../src/workers/workerEventLoop.js";

const TASK = new URL("../helpers/eventLoopTask.js", import.meta.url).href;

/** Runs "schedule" then "check" on one worker thread: did the work the first task left behind run before the second? */
async function leftoverRan(options: {atomics?: "sync" | "disabled"}): Promise<boolean> {
  const pool = new Piscina({filename: TASK, minThreads: 1, maxThreads: 1, ...options});
  try {
    assert.equal(await pool.run("schedule"), true);
    return (await pool.run("check")) as boolean;
  } finally {
    await pool.destroy();
  }
}

describe("worker pools run their threads' event loops between tasks", () => {
  it("with the project's pool options, what a task leaves for the event loop (native finalizers) runs before the next task", async () => {
    assert.equal(await leftoverRan(WORKER_EVENT_LOOP), true);
  });

  it("with Piscina's default (Atomics.wait between tasks) it does not: why the option is set", async () => {
    assert.equal(await leftoverRan({atomics: "sync"}), false);
  });
});
