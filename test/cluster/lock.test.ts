import assert from "node:assert/strict";
import {readFile, rm, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {LOCK_FILE, createCluster} from "../../src/cluster/createCluster.js";
import {LockError, computeLockHash, loadLock, parseLock} from "../../src/cluster/lock.js";
import type {ClusterLock} from "../../src/cluster/lockSchema.js";
import {tempDir} from "../helpers/cli.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mutations poke arbitrary fields of the raw JSON
type RawLock = any;
type Mutation = {field: string; mutate: (l: RawLock) => void; code: LockError["code"]; names: string};

const flip = (hex: string) => hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");

/** Every field of the lock, changed one at a time; each must be refused with an error naming what is wrong. */
const MUTATIONS: Mutation[] = [
  {field: "name", mutate: (l) => (l.name = "other"), code: "LOCK_HASH_MISMATCH", names: "lock_hash"},
  {field: "uuid", mutate: (l) => (l.uuid = "00000000-0000-4000-8000-000000000000"), code: "LOCK_HASH_MISMATCH", names: "lock_hash"},
  {field: "created_at", mutate: (l) => (l.created_at = "2020-01-01T00:00:00.000Z"), code: "LOCK_HASH_MISMATCH", names: "lock_hash"},
  {field: "version", mutate: (l) => (l.version = "r3dv-lock/v0"), code: "LOCK_MALFORMED", names: "version"},
  {field: "network", mutate: (l) => (l.network = "mainnet"), code: "LOCK_INCONSISTENT", names: "fork_version"},
  {field: "fork_version", mutate: (l) => (l.fork_version = "0x00000000"), code: "LOCK_INCONSISTENT", names: "fork_version"},
  {field: "threshold (below majority)", mutate: (l) => (l.threshold = 2), code: "LOCK_INCONSISTENT", names: "threshold"},
  // Shares of a degree-2 polynomial also lie on "a" degree-3 one: only the hash can catch a raised threshold.
  {field: "threshold (all)", mutate: (l) => (l.threshold = 4), code: "LOCK_HASH_MISMATCH", names: "lock_hash"},
  {field: "operators[0].peer_id", mutate: (l) => (l.operators[0].peer_id = l.operators[1].peer_id), code: "LOCK_INCONSISTENT", names: "operators[1].peer_id"},
  {field: "operators[0].peer_id (garbage)", mutate: (l) => (l.operators[0].peer_id = "not-a-peer"), code: "LOCK_INCONSISTENT", names: "operators[0].peer_id"},
  {field: "operators[1].address", mutate: (l) => (l.operators[1].address = "127.0.0.1:9999"), code: "LOCK_HASH_MISMATCH", names: "lock_hash"},
  {field: "operators[2].index", mutate: (l) => (l.operators[2].index = 7), code: "LOCK_INCONSISTENT", names: "operators[2].index"},
  {field: "operators (one removed)", mutate: (l) => l.operators.pop(), code: "LOCK_INCONSISTENT", names: "validators[0].share_pubkeys"},
  {field: "validators[0].pubkey", mutate: (l) => (l.validators[0].pubkey = l.validators[1].pubkey), code: "LOCK_INCONSISTENT", names: "validators[0].share_pubkeys"},
  {field: "validators[1].share_pubkeys[3]", mutate: (l) => (l.validators[1].share_pubkeys[3] = l.validators[0].share_pubkeys[3]), code: "LOCK_INCONSISTENT", names: "validators[1].share_pubkeys[3]"},
  {field: "validators[0].fee_recipient", mutate: (l) => (l.validators[0].fee_recipient = flip(l.validators[0].fee_recipient)), code: "LOCK_HASH_MISMATCH", names: "lock_hash"},
  {field: "validators[0].withdrawal_credentials", mutate: (l) => (l.validators[0].withdrawal_credentials = "0x00" + l.validators[0].withdrawal_credentials.slice(4)), code: "LOCK_INCONSISTENT", names: "validators[0].withdrawal_credentials"},
  {field: "lock_hash", mutate: (l) => (l.lock_hash = flip(l.lock_hash)), code: "LOCK_HASH_MISMATCH", names: "lock_hash"},
  {field: "an unknown extra field", mutate: (l) => (l.extra = 1), code: "LOCK_MALFORMED", names: "(root)"},
  {field: "a missing field", mutate: (l) => delete l.threshold, code: "LOCK_MALFORMED", names: "threshold"},
  {field: "a wrongly typed field", mutate: (l) => (l.threshold = "3"), code: "LOCK_MALFORMED", names: "threshold"},
];

describe("cluster lock", () => {
  let dir: string;
  let original: ClusterLock;
  before(async () => {
    dir = await tempDir();
    await createCluster({nodes: 4, threshold: 3, keys: {kind: "interop", start: 0, count: 2}, network: "devnet", withdrawalAddress: "0x" + "11".repeat(20), kdf: "pbkdf2", out: join(dir, "c")});
    original = JSON.parse(await readFile(join(dir, "c", LOCK_FILE), "utf8")) as ClusterLock;
  });
  after(() => rm(dir, {recursive: true, force: true}));

  it("loads the lock as written, and its hash is reproducible from the content", async () => {
    const lock = await loadLock(join(dir, "c", LOCK_FILE));
    assert.equal(computeLockHash(lock), lock.lock_hash);
  });

  for (const m of MUTATIONS) {
    it(`refuses a lock with ${m.field} changed, naming ${m.names}`, async () => {
      const lock = structuredClone(original) as RawLock;
      m.mutate(lock);
      await assert.rejects(parseLock(JSON.stringify(lock), "test-lock.json"), (e) => {
        assert.ok(e instanceof LockError, `expected LockError, got ${String(e)}`);
        assert.equal(e.code, m.code, e.message);
        assert.ok(e.message.includes(m.names), `message names ${m.names}: ${e.message}`);
        assert.ok(e.message.includes("test-lock.json"), "message names the file");
        return true;
      });
    });
  }

  it("refuses a file that is not JSON, or not there, saying so", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, "{not json");
    await assert.rejects(loadLock(bad), (e) => e instanceof LockError && e.code === "LOCK_MALFORMED" && /not valid JSON/.test(e.message));
    await assert.rejects(loadLock(join(dir, "missing.json")), (e) => e instanceof LockError && e.code === "LOCK_UNREADABLE" && /cannot read cluster lock/.test(e.message));
  });
});
