import {type Database, open, type RootDatabase} from "lmdb";
import {CHUNK_KINDS} from "../hotpath/chunk.js";
import {decodeEntryValue, keySeq, parseJsonBody} from "../storage/entry.js";
import {verifyChain} from "../storage/chainVerify.js";
import type {RefusedEntryBody} from "../storage/views.js";
import type {LimiterTask, LimiterTaskResult, WindowReport} from "./limiterTasks.js";

const envs = new Map<
  string,
  {
    root: RootDatabase;
    log: Database<Buffer, Buffer>;
    meta: Database<{anchor?: {seq: number; prevHash: string}}, string>;
  }
>();

/** The node's own environment, opened again in this thread: LMDB readers never block the writer. */
function env(dir: string) {
  let e = envs.get(dir);
  if (!e) {
    const root = open({path: dir, compression: false});
    e = {
      root,
      log: root.openDB<Buffer, Buffer>({name: "series", keyEncoding: "binary", encoding: "binary"}),
      meta: root.openDB({name: "meta", encoding: "json"}),
    };
    envs.set(dir, e);
  }
  e.root.resetReadTxn();
  return e;
}

function window(dir: string, n: number): WindowReport {
  const {log} = env(dir);
  const r: WindowReport = {
    entries: 0,
    fromSeq: 0,
    toSeq: 0,
    byPeer: {},
    refusedByLimiter: {},
    acceptedByKind: {},
    ethBlocksByOrigin: {},
  };
  const peer = (i: number) => (r.byPeer[i] ??= {accepted: 0, refused: 0, rateLimited: 0});
  for (const {key, value} of log.getRange({reverse: true, limit: n})) {
    const e = decodeEntryValue(keySeq(key), value);
    r.entries++;
    if (r.toSeq === 0) r.toSeq = e.seq;
    r.fromSeq = e.seq;
    if (e.type === "chunk_accepted" || e.type === "chunk_fetched") {
      const kind = CHUNK_KINDS[e.body[2] as number] ?? "unknown";
      r.acceptedByKind[kind] = (r.acceptedByKind[kind] ?? 0) + 1;
      if (e.body[0] !== 0) peer(e.body[0] as number).accepted++;
      if (kind === "eth_block")
        r.ethBlocksByOrigin[e.body[3] as number] = (r.ethBlocksByOrigin[e.body[3] as number] ?? 0) + 1;
    } else if (e.type === "chunk_refused") {
      const b = parseJsonBody<RefusedEntryBody>(e);
      r.refusedByLimiter[b.limiter] = (r.refusedByLimiter[b.limiter] ?? 0) + 1;
      peer(b.from).refused++;
    } else if (e.type === "rate_limited") {
      const b = parseJsonBody<{peer: number; count: number}>(e);
      peer(b.peer).rateLimited += b.count;
      r.refusedByLimiter.rate = (r.refusedByLimiter.rate ?? 0) + b.count;
    }
  }
  return r;
}

export default function run(task: LimiterTask): LimiterTaskResult {
  switch (task.kind) {
    case "verifyChain": {
      const {log, meta} = env(task.dir);
      return verifyChain(log.getRange({}), meta.get("meta")?.anchor);
    }
    case "window":
      return window(task.dir, task.entries);
  }
}
