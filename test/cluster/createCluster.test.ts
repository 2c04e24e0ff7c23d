import assert from "node:assert/strict";
import {readFile, readdir, stat} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {rm} from "node:fs/promises";
import {SecretKey} from "@chainsafe/blst";
import {
  CreateClusterError,
  DEPOSIT_FILE,
  KEYS_DIR,
  LOCK_FILE,
  createCluster,
  keystoreFileName,
  nodeDirName,
  passwordFileName,
} from "../../src/cluster/createCluster.js";
import type {DepositDataJson} from "../../src/cluster/deposit.js";
import {checkDepositData} from "../../src/cluster/deposit.js";
import {IDENTITY_FILE, loadIdentity} from "../../src/cluster/identity.js";
import {loadLock} from "../../src/cluster/lock.js";
import {toHex} from "../../src/hotpath/bytes.js";
import {initHerumi} from "../../src/hotpath/herumi.js";
import {interopSecretKey} from "../../src/hotpath/interop.js";
import {secretToPublicKey} from "../../src/hotpath/threshold.js";
import {verifyCluster} from "../../src/cluster/verifyCluster.js";
import {tempDir} from "../helpers/cli.js";
import {decryptEip2335} from "../helpers/eip2335.js";
import {bytesToBigintBE, interpolateAtZero} from "../helpers/lagrange.js";
import {bigintToBytes32BE} from "../../src/hotpath/interop.js";

const WITHDRAWAL = "0x" + "ab".repeat(20);

describe("create-cluster", () => {
  let parent: string;
  before(async () => {
    await initHerumi();
    parent = await tempDir();
  });
  after(() => rm(parent, {recursive: true, force: true}));

  it("writes a 4-node cluster that an independent EIP-2335 decoder and Lagrange interpolation accept", async () => {
    const out = join(parent, "random");
    const {lock} = await createCluster({
      nodes: 4,
      threshold: 3,
      keys: {kind: "random", count: 2},
      network: "hoodi",
      withdrawalAddress: WITHDRAWAL,
      kdf: "pbkdf2",
      out,
    });
    assert.equal(lock.operators.length, 4);
    assert.equal(lock.fork_version, "0x10000910");
    assert.deepEqual(await loadLock(join(out, LOCK_FILE)), lock);
    for (const [j, v] of lock.validators.entries()) {
      assert.equal(v.withdrawal_credentials, "0x01" + "00".repeat(11) + "ab".repeat(20));
      assert.equal(v.fee_recipient, WITHDRAWAL, "fee recipient defaults to the withdrawal address");
      const points: {x: number; y: bigint}[] = [];
      for (const op of lock.operators) {
        const keysDir = join(out, nodeDirName(op.index), KEYS_DIR);
        const password = await readFile(join(keysDir, passwordFileName(j)), "utf8");
        const share = decryptEip2335(await readFile(join(keysDir, keystoreFileName(j)), "utf8"), password);
        assert.equal(toHex(secretToPublicKey(share)), v.share_pubkeys[op.index - 1]);
        points.push({x: op.index, y: bytesToBigintBE(share)});
      }
      // Any 3 shares interpolate to a secret whose public key is the validator's.
      const secret = interpolateAtZero(points.slice(1));
      assert.equal(toHex(SecretKey.fromBytes(bigintToBytes32BE(secret)).toPublicKey().toBytes()), v.pubkey);
    }
    for (const op of lock.operators) {
      assert.equal((await loadIdentity(join(out, nodeDirName(op.index), IDENTITY_FILE))).peerId, op.peer_id);
    }
  });

  it("writes every secret 0600 and the lock and deposit data readable", async () => {
    const out = join(parent, "random");
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    assert.equal(await mode(join(out, LOCK_FILE)), 0o644);
    assert.equal(await mode(join(out, DEPOSIT_FILE)), 0o644);
    for (let i = 1; i <= 4; i++) {
      assert.equal(await mode(join(out, nodeDirName(i), IDENTITY_FILE)), 0o600);
      const keysDir = join(out, nodeDirName(i), KEYS_DIR);
      for (const f of await readdir(keysDir)) assert.equal(await mode(join(keysDir, f)), 0o600, f);
    }
  });

  it("splits interop keys into a cluster whose validators are the interop public keys", async () => {
    const out = join(parent, "interop");
    const {lock} = await createCluster({
      nodes: 3,
      keys: {kind: "interop", start: 5, count: 3},
      network: "devnet",
      withdrawalAddress: WITHDRAWAL,
      compounding: true,
      feeRecipient: "0x" + "cd".repeat(20),
      operators: ["10.0.0.1:9100", "10.0.0.2:9100", "node3.example:9100"],
      kdf: "pbkdf2",
      out,
    });
    assert.equal(lock.threshold, 2, "default threshold ceil(2*3/3)");
    assert.deepEqual(
      lock.validators.map((v) => v.pubkey),
      [5, 6, 7].map((i) => toHex(secretToPublicKey(interopSecretKey(i)))),
    );
    assert.deepEqual(
      lock.operators.map((o) => o.address),
      ["10.0.0.1:9100", "10.0.0.2:9100", "node3.example:9100"],
    );
    assert.ok(
      lock.validators.every(
        (v) => v.withdrawal_credentials.startsWith("0x02") && v.fee_recipient === "0x" + "cd".repeat(20),
      ),
    );
    const report = await verifyCluster(out);
    assert.equal(report.checks.length, 6);
  });

  it("refuses interop keys for every network but the devnet, before writing anything", async () => {
    for (const network of ["mainnet", "hoodi", "sepolia"] as const) {
      const out = join(parent, `interop-${network}`);
      const keys = {kind: "interop", start: 0, count: 1} as const;
      await assert.rejects(
        createCluster({nodes: 3, keys, network, withdrawalAddress: WITHDRAWAL, kdf: "pbkdf2", out}),
        (e) => {
          assert.ok(e instanceof CreateClusterError, String(e));
          const {code, option} = e.type as {code: string; option?: string};
          assert.deepEqual({code, option}, {code: "CLUSTER_BAD_OPTION", option: "--interop"});
          assert.match(
            e.message,
            new RegExp(`interop keys are public.*--network ${network}.*--network devnet.*--validators`),
          );
          return true;
        },
      );
      const written = (await readdir(parent)).filter((f) => f.includes(`interop-${network}`));
      assert.deepEqual(written, [], `nothing written for ${network}`);
    }
  });

  it("signs deposit data that verifies under its own network's deposit domain only", async () => {
    for (const network of ["mainnet", "hoodi", "sepolia", "devnet"] as const) {
      const out = join(parent, `deposit-${network}`);
      await createCluster({
        nodes: 3,
        keys: {kind: "random", count: 1},
        network,
        withdrawalAddress: WITHDRAWAL,
        kdf: "pbkdf2",
        out,
      });
      const [entry] = JSON.parse(await readFile(join(out, DEPOSIT_FILE), "utf8")) as DepositDataJson[];
      assert.ok(entry);
      assert.deepEqual(checkDepositData(entry, network), [], network);
      assert.equal(entry.amount, 32_000_000_000);
      assert.equal(entry.network_name, network);
      const other = network === "mainnet" ? "hoodi" : "mainnet";
      // Same bytes judged as another network's deposit: the signature must not verify there.
      const asOther = {...entry, network_name: other, fork_version: other === "mainnet" ? "00000000" : "10000910"};
      assert.ok(
        checkDepositData(asOther, other).some((p) => p.includes("signature does not verify")),
        `${network} deposit must fail on ${other}`,
      );
    }
  });
});
