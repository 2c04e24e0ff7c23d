import {performance} from "node:perf_hooks";
import type {VerifyOutcome} from "../src/roles/evm/blockVerifier.js";
import {describeChain} from "../src/roles/evm/chainDescription.js";
import type {VerifyTimings} from "../src/roles/evm/verdict.js";
import {StateTransitionPool} from "../src/workers/stateTransitionPool.js";
import {createServer} from "node:http";
import {ExecutionRpc, type ExecutionRpcEngine} from "../src/devnet/api/executionRpc.js";
import type {ExecutionInput} from "../src/roles/evm/payloadExecutor.js";
import {ExecutionPool} from "../src/workers/executionPool.js";
import {devnetWithBlocks, serializeBlock} from "../test/helpers/devnetBlocks.js";
import {type BenchRow, type BenchTask, type Suite, latencyStats} from "./harness.js";

/**
 * 64 validators: the devnet `npm start` runs, and the size issue 11 asks the per-block cost for; 1024: how the
 * epoch transition and the state's hashing grow with the validator set (a block's signatures do not: one
 * aggregate per committee either way).
 */
const SIZES = [64, 1024];
/** The size whose verifications are broken down by stage. */
const STAGE_SIZE = 64;
/** Slots of devnet chain built: slot 8 is the first of epoch 1, so its block carries an epoch transition. */
const SLOTS = 8;
/** Verifications per measured block for the stage breakdown: enough for a stable mean, seconds in all. */
const STAGE_SAMPLES = 30;

/**
 * The EVM role's per-block verification on devnet blocks, as the chain follower pays it: one round trip to the
 * state transition thread (signatures batch-verified, state transition, state root), and the payload's
 * re-execution in the execution thread. An
 * ordinary block (slot 4) and the first block of an epoch (slot 8, which also advances the state through the
 * epoch transition); the stage rows say where the time goes. Against the budget: a mainnet slot's third is 4 s,
 * a 2 s devnet slot's 667 ms.
 */
export const evmSuite: Suite = {
  name: "evm",
  async setup() {
    const pools: StateTransitionPool[] = [];
    const executors: ExecutionPool[] = [];
    const servers: {close(): Promise<void>}[] = [];
    const tasks: BenchTask[] = [];
    for (const validators of SIZES) {
      const {f, chain} = await fixture(validators);
      const pool = new StateTransitionPool();
      pools.push(pool);
      await pool.bootstrap(chain, f.genesisState());
      const blocks = f.blocks().map(serializeBlock);
      // Every block once, so each measured block's parent state is kept in the thread.
      for (const b of blocks) await verified(pool.verify(b));
      const block4 = blocks[3] as Uint8Array;
      const block8 = blocks[7] as Uint8Array;
      if (validators === STAGE_SIZE) {
        // The payload's re-execution as a node with --execution-rpc pays it: the devnet's JSON-RPC on loopback
        // (witness keys, one batch of proofs, code), the proven state built and the block run, in its thread.
        const rpc = await serveExecutionRpc(f.chain);
        servers.push(rpc);
        const input = (await pool.verify(block4)) as {execution?: ExecutionInput};
        if (!input.execution) throw new Error("bench block 4 carries no payload");
        const execution = input.execution;
        const executor = new ExecutionPool();
        executors.push(executor);
        tasks.push({
          name: `re-execute one payload on proven state in the thread: witness, proofs, run (${validators} validators, slot 4)`,
          fn: async () => {
            const o = await executor.execute({rpcUrl: rpc.url, input: execution, timeoutMs: 10_000});
            if (o.status !== "valid") throw new Error(`bench payload not valid: ${JSON.stringify(o)}`);
          },
        });
      }
      tasks.push(
        {
          name: `verify one block in the thread: signatures, transition, state root (${validators} validators, slot 4)`,
          fn: async () => void (await verified(pool.verify(block4))),
        },
        {
          name: `verify an epoch's first block: the epoch transition too (${validators} validators, slot 8)`,
          fn: async () => void (await verified(pool.verify(block8))),
        },
        {
          // After the two above: it replaces the thread's states, which they need.
          name: `bootstrap from the genesis state (${validators} validators): decode, caches, hash`,
          fn: async () => void (await pool.bootstrap(chain, f.genesisState())),
        },
      );
    }
    const teardown = async () => void (await Promise.all([...pools, ...executors, ...servers].map((p) => p.close())));
    return {tasks, teardown};
  },
  async measure() {
    const {f, chain} = await fixture(STAGE_SIZE);
    const pool = new StateTransitionPool();
    const rows: BenchRow[] = [];
    try {
      const t0 = performance.now();
      await pool.bootstrap(chain, f.genesisState());
      const first = `bootstrap once, first in a thread: includes loading Lodestar (${STAGE_SIZE} validators)`;
      rows.push(row(first, [performance.now() - t0]));
      const blocks = f.blocks().map(serializeBlock);
      for (const b of blocks) await verified(pool.verify(b));
      for (const slot of [4, 8]) {
        const samples: VerifyTimings[] = [];
        for (let i = 0; i < STAGE_SAMPLES; i++)
          samples.push(await verified(pool.verify(blocks[slot - 1] as Uint8Array)));
        for (const stage of ["slotsMs", "signaturesMs", "blockMs", "hashMs", "totalMs"] as const)
          rows.push(
            row(
              `slot ${slot} stage ${stage.replace(/Ms$/, "")} (${STAGE_SIZE} validators, in the thread)`,
              samples.map((s) => s[stage]),
            ),
          );
      }
    } finally {
      await pool.close();
    }
    return rows;
  },
};

/** The devnet engine's execution JSON-RPC on a loopback port, as `r3dv devnet-beacon` serves it. */
async function serveExecutionRpc(chain: {engine: {executionRpc?(): ExecutionRpcEngine}; headState(): unknown}) {
  const engine = chain.engine.executionRpc?.();
  if (!engine) throw new Error("the devnet's engine keeps no state to serve");
  const rpc = new ExecutionRpc(engine, () => {
    const head = chain.headState() as {latestExecutionPayloadHeader: {blockHash: Uint8Array}};
    return head.latestExecutionPayloadHeader.blockHash;
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      const answer = Array.isArray(body) ? Promise.all(body.map((c) => rpc.answer(c))) : rpc.answer(body);
      void answer.then((a) => res.end(JSON.stringify(a)));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as {port: number}).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function fixture(validators: number) {
  const f = await devnetWithBlocks(validators, SLOTS);
  return {f, chain: describeChain(f.chain.config)};
}

function row(task: string, ms: number[]): BenchRow {
  const s = latencyStats(ms);
  return {suite: "evm", task, opsPerSec: 1000 / s.mean, meanMs: s.mean, p99Ms: s.p99, samples: s.count};
}

async function verified(p: Promise<VerifyOutcome>): Promise<VerifyTimings> {
  const o = await p;
  if (o.kind !== "verdict" || o.verdict.status !== "verified")
    throw new Error(`bench block not verified: ${JSON.stringify(o)}`);
  return o.verdict.timings;
}
