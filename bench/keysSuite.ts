import {mkdtemp, rm} from "node:fs/promises";
import {randomBytes} from "node:crypto";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {performance} from "node:perf_hooks";
import {secretToPublicKey} from "../src/hotpath/threshold.js";
import {readShareCache, writeShareCache} from "../src/roles/validator/signing/shareCache.js";
import type {BenchRow, Suite} from "./harness.js";

/** Issue 14's size: a node holding 10,000 key shares must restart in under a minute. */
const SHARES = 10_000;

/** A random valid BLS secret (below the curve order with overwhelming probability; the top byte kept small). */
function secret(): Uint8Array {
  const s = randomBytes(32);
  s[0] = (s[0] as number) & 0x3f;
  return new Uint8Array(s);
}

/**
 * A restart of a node holding 10,000 shares: the decrypted-share cache read (one scrypt run over every share)
 * and each share checked against its public key, as loadShareKeys does before trusting the cache. Reading the
 * 10,000 keystore and password files for the fingerprint is not counted (small files, tens of ms per thousand).
 */
export const keysSuite: Suite = {
  name: "keys",
  async measure() {
    const dir = await mkdtemp(join(tmpdir(), "r3dv-bench-keys-"));
    try {
      const secrets = Array.from({length: SHARES}, secret);
      const passwords = secrets.map(() => randomBytes(32).toString("hex"));
      const file = join(dir, "share-cache.json");
      let t = performance.now();
      await writeShareCache(file, "bench", passwords, secrets);
      const writeMs = performance.now() - t;
      t = performance.now();
      const read = await readShareCache(file, "bench", passwords);
      const readMs = performance.now() - t;
      t = performance.now();
      for (const s of read) secretToPublicKey(s);
      const checkMs = performance.now() - t;
      console.log(
        `keys: ${SHARES} shares: cache written in ${writeMs.toFixed(0)} ms, read in ${readMs.toFixed(0)} ms, every share's public key checked in ${checkMs.toFixed(0)} ms`,
      );
      const row = (task: string, ms: number): BenchRow => ({
        suite: "keys",
        task,
        opsPerSec: 1000 / ms,
        meanMs: ms,
        p99Ms: ms,
        samples: 1,
      });
      return [
        row(`write the share cache of ${SHARES} shares (after a first start)`, writeMs),
        row(
          `restart: read the share cache of ${SHARES} shares and check each against its public key`,
          readMs + checkMs,
        ),
      ];
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  },
};
