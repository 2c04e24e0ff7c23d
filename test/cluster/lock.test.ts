import assert from "node:assert/strict";
import {readFile, rm, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {LOCK_FILE, createCluster, nodeDirName} from "../../src/cluster/createCluster.js";
import {IDENTITY_FILE, generateIdentity, loadIdentity} from "../../src/cluster/identity.js";
import {LockError, computeLockHash, loadLock, parseLock} from "../../src/cluster/lock.js";
import type {ClusterLock} from "../../src/cluster/lockSchema.js";
import {signLockHash} from "../../src/cluster/lockSignature.js";
import {tempDir} from "../helpers/cli.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mutations poke arbitrary fields of the raw JSON
type RawLock = any;
type Mutation = {field: string; mutate: (l: RawLock) => void; code: LockError["code"]; names: string};

const flip = (hex: string) => hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");

/** Every field of the lock, changed one at a time; each must be refused with an error naming what is wrong. */
const MUTATIONS: Mutation[] = [
  {field: "name", mutate: (l) => (l.name = "other"), code: "LOCK_HASH_MISMATCH", names: "lock_hash"},
  {
    field: "uuid",
    mutate: (l) => (l.uuid = "00000000-0000-4000-8000-000000000000"),
    code: "LOCK_HASH_MISMATCH",
    names: "lock_hash",
  },
  {
    field: "created_at",
    mutate: (l) => (l.created_at = "2020-01-01T00:00:00.000Z"),
    code: "LOCK_HASH_MISMATCH",
    names: "lock_hash",
  },
  {field: "version", mutate: (l) => (l.version = "r3dv-lock/v0"), code: "LOCK_MALFORMED", names: "version"},
  {field: "network", mutate: (l) => (l.network = "mainnet"), code: "LOCK_INCONSISTENT", names: "fork_version"},
  {
    field: "fork_version",
    mutate: (l) => (l.fork_version = "0x00000000"),
    code: "LOCK_INCONSISTENT",
    names: "fork_version",
  },
  {
    field: "threshold (below majority)",
    mutate: (l) => (l.threshold = 2),
    code: "LOCK_INCONSISTENT",
    names: "threshold",
  },
  // Shares of a degree-2 polynomial also lie on "a" degree-3 one: only the hash can catch a raised threshold.
  {field: "threshold (all)", mutate: (l) => (l.threshold = 4), code: "LOCK_HASH_MISMATCH", names: "lock_hash"},
  {
    field: "operators[0].peer_id",
    mutate: (l) => (l.operators[0].peer_id = l.operators[1].peer_id),
    code: "LOCK_INCONSISTENT",
    names: "operators[1].peer_id",
  },
  {
    field: "operators[0].peer_id (garbage)",
    mutate: (l) => (l.operators[0].peer_id = "not-a-peer"),
    code: "LOCK_INCONSISTENT",
    names: "operators[0].peer_id",
  },
  {
    field: "operators[1].address",
    mutate: (l) => (l.operators[1].address = "127.0.0.1:9999"),
    code: "LOCK_HASH_MISMATCH",
    names: "lock_hash",
  },
  {
    field: "operators[2].index",
    mutate: (l) => (l.operators[2].index = 7),
    code: "LOCK_INCONSISTENT",
    names: "operators[2].index",
  },
  {
    field: "operators (one removed)",
    mutate: (l) => l.operators.pop(),
    code: "LOCK_INCONSISTENT",
    names: "validators[0].share_pubkeys",
  },
  {
    field: "validators[0].pubkey",
    mutate: (l) => (l.validators[0].pubkey = l.validators[1].pubkey),
    code: "LOCK_INCONSISTENT",
    names: "validators[0].share_pubkeys",
  },
  {
    field: "validators[1].share_pubkeys[3]",
    mutate: (l) => (l.validators[1].share_pubkeys[3] = l.validators[0].share_pubkeys[3]),
    code: "LOCK_INCONSISTENT",
    names: "validators[1].share_pubkeys[3]",
  },
  {
    field: "validators[0].fee_recipient",
    mutate: (l) => (l.validators[0].fee_recipient = flip(l.validators[0].fee_recipient)),
    code: "LOCK_HASH_MISMATCH",
    names: "lock_hash",
  },
  {
    field: "validators[0].withdrawal_credentials",
    mutate: (l) => (l.validators[0].withdrawal_credentials = "0x00" + l.validators[0].withdrawal_credentials.slice(4)),
    code: "LOCK_INCONSISTENT",
    names: "validators[0].withdrawal_credentials",
  },
  {
    field: "lock_hash",
    mutate: (l) => (l.lock_hash = flip(l.lock_hash)),
    code: "LOCK_HASH_MISMATCH",
    names: "lock_hash",
  },
  {field: "an unknown extra field", mutate: (l) => (l.extra = 1), code: "LOCK_MALFORMED", names: "(root)"},
  {field: "a missing field", mutate: (l) => delete l.threshold, code: "LOCK_MALFORMED", names: "threshold"},
  {field: "a wrongly typed field", mutate: (l) => (l.threshold = "3"), code: "LOCK_MALFORMED", names: "threshold"},
];

describe("cluster lock", () => {
  let dir: string;
  let original: ClusterLock;
  before(async () => {
    dir = await tempDir();
    await createCluster({
      nodes: 4,
      threshold: 3,
      keys: {kind: "interop", start: 0, count: 2},
      network: "devnet",
      withdrawalAddress: "0x" + "11".repeat(20),
      kdf: "pbkdf2",
      out: join(dir, "c"),
    });
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

  /** Parses `lock` and expects a LockError with `code` whose message names `names`. */
  async function assertRefused(lock: RawLock, code: LockError["code"], names: RegExp): Promise<LockError> {
    let error: LockError | undefined;
    await assert.rejects(parseLock(JSON.stringify(lock), "test-lock.json"), (e) => {
      assert.ok(e instanceof LockError, `expected LockError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, names);
      assert.ok(e.message.includes("test-lock.json"), "message names the file");
      error = e;
      return true;
    });
    return error as LockError;
  }

  /** What someone who can write a node's lock, but holds no operator's identity key, can do: edit and re-hash. */
  const REHASHED: {field: string; mutate: (l: RawLock) => Promise<void> | void; operator: number}[] = [
    {field: "operators[1].address", mutate: (l) => void (l.operators[1].address = "127.0.0.2:9999"), operator: 1},
    {
      field: "validators[0].fee_recipient",
      mutate: (l) => void (l.validators[0].fee_recipient = flip(l.validators[0].fee_recipient)),
      operator: 1,
    },
    {
      field: "operators[2].peer_id (an attacker's key)",
      mutate: async (l) => void (l.operators[2].peer_id = (await generateIdentity()).peerId),
      operator: 1,
    },
    {
      // The attacker signs the swapped operator's slot with its own key; the other operators' signatures still fail.
      field: "operators[0].peer_id (an attacker's key, which signs slot 0)",
      mutate: async (l) => {
        const attacker = await generateIdentity();
        l.operators[0].peer_id = attacker.peerId;
        l.lock_hash = computeLockHash(l);
        l.node_signatures[0] = await signLockHash(attacker.privateKey, l.lock_hash);
      },
      operator: 2,
    },
  ];
  for (const m of REHASHED) {
    it(`refuses a lock with ${m.field} changed and re-hashed, naming operator ${m.operator}'s signature`, async () => {
      const lock = structuredClone(original) as RawLock;
      await m.mutate(lock);
      lock.lock_hash = computeLockHash(lock);
      const names = new RegExp(`signature of operator ${m.operator} \\(12D3Koo\\w+\\), does not verify.*original`);
      const e = await assertRefused(lock, "LOCK_SIGNATURE_INVALID", names);
      const peerId = lock.operators[m.operator - 1].peer_id;
      assert.deepEqual(e.type, {code: "LOCK_SIGNATURE_INVALID", file: "test-lock.json", operator: m.operator, peerId});
    });
  }

  it("refuses a tampered, swapped or extra signature, naming the operator or the field", async () => {
    const flipped = structuredClone(original) as RawLock;
    flipped.node_signatures[2] = flip(flipped.node_signatures[2]);
    await assertRefused(
      flipped,
      "LOCK_SIGNATURE_INVALID",
      /node_signatures\[2\], the signature of operator 3 .* does not verify/,
    );
    // A valid signature over the right hash, but by another operator's key.
    const swapped = structuredClone(original) as RawLock;
    swapped.node_signatures[3] = swapped.node_signatures[1];
    await assertRefused(swapped, "LOCK_SIGNATURE_INVALID", /signature of operator 4 /);
    const extra = structuredClone(original) as RawLock;
    extra.node_signatures.push(extra.node_signatures[0]);
    await assertRefused(extra, "LOCK_INCONSISTENT", /field node_signatures: has 5 signatures for 4 operators/);
    const garbage = structuredClone(original) as RawLock;
    garbage.node_signatures[0] = "0x1234";
    await assertRefused(garbage, "LOCK_MALFORMED", /field node_signatures\[0\]: expected 0x-prefixed hex of 64 bytes/);
  });

  it("refuses a missing signature, and an unsigned lock, saying what to do", async () => {
    const short = structuredClone(original) as RawLock;
    short.node_signatures.pop();
    const e = await assertRefused(
      short,
      "LOCK_SIGNATURE_MISSING",
      /node_signatures\[3\] is missing: operator 4 .* has not signed/,
    );
    assert.equal((e.type as {operator: number}).operator, 4);
    const unsigned = structuredClone(original) as RawLock;
    delete unsigned.node_signatures;
    await assertRefused(
      unsigned,
      "LOCK_UNSIGNED",
      /has no node_signatures.*create the cluster again with r3dv create-cluster/,
    );
  });

  it("signs the hash, which does not cover the signatures: each verifies under its operator's identity key", async () => {
    const lock = structuredClone(original) as RawLock;
    lock.node_signatures = [];
    assert.equal(computeLockHash(lock), original.lock_hash, "signatures are not hashed");
    for (const op of original.operators) {
      const {privateKey, peerId} = await loadIdentity(join(dir, "c", nodeDirName(op.index), IDENTITY_FILE));
      assert.equal(peerId, op.peer_id);
      // Ed25519 is deterministic: the operator re-signing the hash reproduces the lock's signature exactly.
      assert.equal(await signLockHash(privateKey, original.lock_hash), original.node_signatures[op.index - 1]);
    }
  });

  it("names each validator's builder gas limit, and still loads a lock made before the field, re-signed", async () => {
    assert.ok(
      original.validators.every((v) => v.gas_limit === 60_000_000),
      "create-cluster's default",
    );
    const older = structuredClone(original) as RawLock;
    for (const v of older.validators as {gas_limit?: number}[]) delete v.gas_limit;
    older.lock_hash = computeLockHash(older);
    for (const op of original.operators) {
      const {privateKey} = await loadIdentity(join(dir, "c", nodeDirName(op.index), IDENTITY_FILE));
      older.node_signatures[op.index - 1] = await signLockHash(privateKey, older.lock_hash as string);
    }
    const file = join(dir, "older-lock.json");
    await writeFile(file, JSON.stringify(older));
    const loaded = await loadLock(file);
    assert.equal(loaded.validators[0]?.gas_limit, undefined, "the registrations use the 60M default");
  });

  it("refuses a file that is not JSON, or not there, saying so", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, "{not json");
    await assert.rejects(
      loadLock(bad),
      (e) => e instanceof LockError && e.code === "LOCK_MALFORMED" && /not valid JSON/.test(e.message),
    );
    await assert.rejects(
      loadLock(join(dir, "missing.json")),
      (e) => e instanceof LockError && e.code === "LOCK_UNREADABLE" && /cannot read cluster lock/.test(e.message),
    );
  });
});
