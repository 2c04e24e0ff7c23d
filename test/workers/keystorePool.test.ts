import assert from "node:assert/strict";
import {mkdtemp, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {monitorEventLoopDelay} from "node:perf_hooks";
import {after, before, describe, it} from "node:test";
import {KeystoreError, encryptKeystore} from "../../src/cluster/keystores.js";
import {toHex} from "../../src/hotpath/bytes.js";
import {secretToPublicKey} from "../../src/hotpath/threshold.js";
import {KeystoreThreads} from "../../src/workers/keystorePool.js";

const SECRET = Uint8Array.from({length: 32}, (_, i) => (i === 0 ? 0x11 : i));

describe("KeystoreThreads: keystores decrypted on worker threads", () => {
  let dir: string;
  let file: string;
  const threads = new KeystoreThreads(2);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "r3dv-keystore-threads-"));
    file = join(dir, "keystore-0.json");
    // scrypt at EIP-2335's work factor: what operators' keystores use, and what bls-keystore runs synchronously.
    await writeFile(file, (await encryptKeystore(SECRET, "right password", "scrypt", "test")).stringify());
  });
  after(async () => {
    await threads.close();
    await rm(dir, {recursive: true, force: true});
  });

  it("decrypts a scrypt keystore while the event loop keeps turning", async () => {
    const delay = monitorEventLoopDelay({resolution: 10});
    delay.enable();
    const started = performance.now();
    const ks = await threads.decryptFile(file, "right password");
    const took = performance.now() - started;
    delay.disable();
    assert.equal(toHex(ks.secret), toHex(SECRET));
    assert.equal(toHex(ks.pubkey), toHex(secretToPublicKey(SECRET)));
    // On the main thread the whole KDF run would be one stall; here the loop is never held for half of it.
    const maxStallMs = delay.max / 1e6;
    assert.ok(
      maxStallMs < took / 2,
      `the event loop stalled ${maxStallMs.toFixed(0)} ms of a ${took.toFixed(0)} ms decrypt`,
    );
  });

  it("a wrong password is the typed error, naming the file and what to check", async () => {
    await assert.rejects(
      threads.decryptFile(file, "wrong password"),
      (e) =>
        e instanceof KeystoreError &&
        e.code === "KEYSTORE_WRONG_PASSWORD" &&
        e.message.includes(file) &&
        /password file/.test(e.message),
    );
  });

  it("the share cache's keystore round-trips through the threads", async () => {
    const all = Uint8Array.from({length: 64}, (_, i) => i + 1);
    const keystore = await threads.create(all.slice(), "cache password");
    assert.deepEqual(await threads.decrypt(keystore, "cache password"), all);
  });
});
