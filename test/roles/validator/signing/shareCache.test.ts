import assert from "node:assert/strict";
import {readFile, stat, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {KEYS_DIR, keystoreFileName, passwordFileName} from "../../../../src/cluster/createCluster.js";
import {encryptKeystore} from "../../../../src/cluster/keystores.js";
import {loadLock} from "../../../../src/cluster/lock.js";
import type {ClusterLock} from "../../../../src/cluster/lockSchema.js";
import {toHex} from "../../../../src/hotpath/bytes.js";
import {
  type ShareCacheError,
  readShareCache,
  shareCacheFingerprint,
  writeShareCache,
} from "../../../../src/roles/validator/signing/shareCache.js";
import {type ShareKey, loadShareKeys} from "../../../../src/roles/validator/signing/shareKeys.js";
import {shareLoadLog} from "../../../../src/roles/validator/signing/shareLoadProgress.js";
import {type TestCluster, makeCluster} from "../../../helpers/cluster.js";

type Outcome = "used" | "written" | ShareCacheError;

/** Loads operator 1's shares with the cache at `cacheFile`, recording every event. */
async function load(c: TestCluster, lock: ClusterLock, cacheFile: string) {
  const cache: Outcome[] = [];
  const progress: number[] = [];
  const shares = await loadShareKeys(lock, c.nodeDir(1), 1, {
    cacheFile,
    events: {cache: (o) => cache.push(o), progress: (done) => progress.push(done)},
  });
  return {shares, cache, progress};
}

const secrets = (shares: ShareKey[]) => shares.map((s) => toHex(s.secret));
const code = (o: Outcome | undefined) => (typeof o === "string" ? o : o?.type.code);

describe("decrypted-share cache: one key derivation per start instead of one per share", () => {
  let c: TestCluster;
  let lock: ClusterLock;
  let cacheFile: string;
  let first: ShareKey[];

  before(async () => {
    c = await makeCluster(4, 3);
    lock = await loadLock(c.lock);
    cacheFile = join(c.dir, "share-cache.json");
  });
  after(async () => c?.cleanup());

  it("a first start decrypts every keystore, with progress, and writes an owner-only cache holding no secret in the clear", async () => {
    const r = await load(c, lock, cacheFile);
    first = r.shares;
    assert.deepEqual(r.progress, [1, 2, 3]);
    assert.equal(code(r.cache[0]), "SHARE_CACHE_UNUSABLE", "no cache yet");
    assert.equal(r.cache[1], "written");
    assert.equal((await stat(cacheFile)).mode & 0o777, 0o600);
    const text = await readFile(cacheFile, "utf8");
    for (const s of secrets(first)) assert.ok(!text.includes(s.slice(2)), "a share's secret is in the file");
  });

  it("the next start reads every share from the cache: the same secrets, no keystore decrypted", async () => {
    const r = await load(c, lock, cacheFile);
    assert.deepEqual(r.cache, ["used"]);
    assert.deepEqual(r.progress, []);
    assert.deepEqual(secrets(r.shares), secrets(first));
  });

  it("a keystore re-encrypted with another password makes the cache stale: decrypted again and rewritten", async () => {
    const dir = join(c.nodeDir(1), KEYS_DIR);
    const ks = await encryptKeystore(first[1]?.secret as Uint8Array, "another password", "pbkdf2", "re-encrypted");
    await writeFile(join(dir, keystoreFileName(1)), ks.stringify());
    await writeFile(join(dir, passwordFileName(1)), "another password\n");
    const r = await load(c, lock, cacheFile);
    assert.match((r.cache[0] as ShareCacheError).message, /made from other keystores or passwords/);
    assert.equal(r.cache[1], "written");
    assert.deepEqual(secrets(r.shares), secrets(first));
    assert.deepEqual((await load(c, lock, cacheFile)).cache, ["used"]);
  });

  it("a cache whose shares are not the lock's (made for another operator) is refused, and the keystores decide", async () => {
    const dir = join(c.nodeDir(1), KEYS_DIR);
    const files = await Promise.all([0, 1, 2].map((j) => readFile(join(dir, keystoreFileName(j)))));
    const passwords = await Promise.all(
      [0, 1, 2].map(async (j) => (await readFile(join(dir, passwordFileName(j)), "utf8")).replace(/\n$/, "")),
    );
    const fingerprint = shareCacheFingerprint(files, passwords);
    const wrong = [0, 1, 2].map((j) => new Uint8Array(32).fill(j + 1));
    await writeShareCache(cacheFile, fingerprint, passwords, wrong);
    assert.deepEqual(
      (await readShareCache(cacheFile, fingerprint, passwords)).map(toHex),
      wrong.map(toHex),
      "the cache itself reads back",
    );
    const r = await load(c, lock, cacheFile);
    assert.match((r.cache[0] as ShareCacheError).message, /share 0 is not the lock's share 1 of validator/);
    assert.deepEqual(secrets(r.shares), secrets(first));
  });

  it("says how far a start is, with the time left, and what became of the cache", () => {
    const lines: string[] = [];
    const logger = {
      info: (m: string) => lines.push(m),
      warn: (m: string) => lines.push(`warn ${m}`),
    } as unknown as Parameters<typeof shareLoadLog>[0];
    let t = 0;
    const log = shareLoadLog(logger, () => t);
    t = 10_000;
    log.progress?.(100, 1000);
    t = 12_000;
    log.progress?.(101, 1000);
    t = 100_000;
    log.progress?.(1000, 1000);
    log.cache?.("written");
    assert.deepEqual(lines, [
      "decrypting key shares [##..................] 100 of 1000, about 90 s left",
      "decrypting key shares [####################] 1000 of 1000, in 100 s",
      "share cache written: the next start reads every share with one key derivation",
    ]);
  });
});
