import assert from "node:assert/strict";
import {mkdir, readFile, readdir, rename, rm, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {encryptKeystore} from "../../src/cluster/keystores.js";
import {computeLockHash} from "../../src/cluster/lock.js";
import {toHex} from "../../src/hotpath/bytes.js";
import {interopSecretKey} from "../../src/hotpath/interop.js";
import {secretToPublicKey} from "../../src/hotpath/threshold.js";
import {runR3dv, tempDir} from "../helpers/cli.js";

const ADDR = "0x" + "ab".repeat(20);
const base = (out: string) => [
  "create-cluster",
  "--withdrawal-address",
  ADDR,
  "--kdf",
  "pbkdf2",
  "--network",
  "devnet",
  "--out",
  out,
];

describe("r3dv create-cluster and verify-cluster (CLI)", () => {
  let dir: string;
  let keystores: string;
  const password = "correct horse battery staple";
  before(async () => {
    dir = await tempDir();
    keystores = join(dir, "existing-keys");
    await mkdir(keystores);
    for (const i of [0, 1]) {
      await writeFile(
        join(keystores, `keystore-m_12381_3600_${i}_0_0.json`),
        (await encryptKeystore(interopSecretKey(i), password, "pbkdf2", "")).stringify(),
      );
    }
    await writeFile(join(dir, "password.txt"), password + "\n");
    await writeFile(join(dir, "wrong.txt"), "not the password\n");
  });
  after(() => rm(dir, {recursive: true, force: true}));

  /** A refused command must leave neither --out nor a temp folder behind. */
  async function assertNothingWritten(out: string): Promise<void> {
    const left = await readdir(dir);
    assert.ok(!left.includes(out.split("/").pop()!), `${out} must not exist`);
    assert.deepEqual(
      left.filter((f) => f.includes(".partial-")),
      [],
      "no partial cluster left behind",
    );
  }

  // Exit code 2: the flags are wrong; 1: the flags are fine but what they point at is not (a keystore, a file).
  const refusals: {name: string; args: (out: string) => string[]; message: RegExp; code?: number}[] = [
    {
      name: "M > N",
      args: (o) => [...base(o), "--nodes", "4", "--threshold", "5", "--validators", "1"],
      message: /threshold 5 is more than the 4 nodes/,
    },
    {
      name: "M <= N/2",
      args: (o) => [...base(o), "--nodes", "4", "--threshold", "2", "--validators", "1"],
      message: /not a majority.*use at least 3/,
    },
    {
      name: "N < 3",
      args: (o) => [...base(o), "--nodes", "2", "--validators", "1"],
      message: /needs at least 3 nodes, got 2/,
    },
    {
      name: "two key sources",
      args: (o) => [...base(o), "--nodes", "4", "--validators", "1", "--interop", "0:1"],
      message: /only one key source, got --validators and --interop/,
    },
    {name: "no key source", args: (o) => [...base(o), "--nodes", "4"], message: /exactly one of --validators/},
    {
      name: "unreadable keystores",
      args: (o) => [
        ...base(o),
        "--nodes",
        "4",
        "--split-keystores",
        join(dir, "nope"),
        "--password-file",
        join(dir, "password.txt"),
      ],
      message: /--split-keystores: cannot read .*nope/,
    },
    {
      name: "wrong keystore password",
      args: (o) => [
        ...base(o),
        "--nodes",
        "4",
        "--split-keystores",
        keystores,
        "--password-file",
        join(dir, "wrong.txt"),
      ],
      message: /wrong password for keystore .*keystore-m_12381_3600_0_0_0\.json/,
      code: 1,
    },
    {
      name: "missing password file",
      args: (o) => [...base(o), "--nodes", "4", "--split-keystores", keystores],
      message: /--password-file: required with --split-keystores/,
    },
    {
      name: "bad checksum address",
      args: (o) => [
        ...base(o).map((a) => (a === ADDR ? "0xAbababababababababababababababababababab" : a)),
        "--nodes",
        "4",
        "--validators",
        "1",
      ],
      message: /wrong EIP-55 checksum/,
    },
    {
      name: "bad interop range",
      args: (o) => [...base(o), "--nodes", "4", "--interop", "5"],
      message: /--interop: expected START:COUNT/,
    },
    {
      name: "unknown network",
      args: (o) => [...base(o), "--nodes", "4", "--validators", "1", "--network", "goerli"],
      message: /unknown network "goerli"/,
    },
    {
      name: "operators count",
      args: (o) => [...base(o), "--nodes", "4", "--validators", "1", "--operators", "a:1,b:2"],
      message: /lists 2 addresses for 4 nodes/,
    },
  ];
  // Interop keys are public: deposit data for them on a real network would hand the stake to anyone.
  const publicNet = (o: string, network?: string) => [
    "create-cluster",
    "--withdrawal-address",
    ADDR,
    "--kdf",
    "pbkdf2",
    "--out",
    o,
    "--nodes",
    "4",
    "--interop",
    "0:2",
    ...(network === undefined ? [] : ["--network", network]),
  ];
  for (const network of [undefined, "mainnet", "hoodi", "sepolia"]) {
    refusals.push({
      name: `--interop on ${network ?? "the default network (mainnet)"}`,
      args: (o) => publicNet(o, network),
      message: new RegExp(
        `--interop: interop keys are public .* refused for --network ${network ?? "mainnet"}; use them only with`,
      ),
    });
  }
  for (const r of refusals) {
    it(`refuses ${r.name} with a clear error and writes nothing`, async () => {
      const out = join(dir, `out-${r.name.replace(/\W+/g, "-")}`);
      const res = await runR3dv(r.args(out));
      assert.equal(res.code, r.code ?? 2, res.stderr);
      assert.match(res.stderr, r.message);
      assert.match(res.stderr, /^r3dv: error: /);
      await assertNothingWritten(out);
    });
  }

  it("refuses a non-empty --out and leaves its content alone", async () => {
    const out = join(dir, "occupied");
    await mkdir(out);
    await writeFile(join(out, "precious.txt"), "keep me");
    const res = await runR3dv([...base(out), "--nodes", "4", "--validators", "1"]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /occupied is not empty/);
    assert.deepEqual(await readdir(out), ["precious.txt"]);
    assert.equal(await readFile(join(out, "precious.txt"), "utf8"), "keep me");
  });

  it("splits existing keystores, warns below ceil(2n/3), and verify-cluster passes", async () => {
    const out = join(dir, "split");
    const res = await runR3dv([
      ...base(out),
      "--nodes",
      "7",
      "--threshold",
      "4",
      "--split-keystores",
      keystores,
      "--password-file",
      join(dir, "password.txt"),
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /warning: threshold 4 of 7 is below the recommended 5/);
    assert.ok(!res.stdout.includes(password) && !res.stderr.includes(password), "the password is never printed");
    const lock = JSON.parse(await readFile(join(out, "cluster-lock.json"), "utf8"));
    assert.deepEqual(
      lock.validators.map((v: {pubkey: string}) => v.pubkey),
      [0, 1].map((i) => toHex(secretToPublicKey(interopSecretKey(i)))),
    );
    const verified = await runR3dv(["verify-cluster", out]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /all 70 4-of-7 share subsets recover signatures/);
    assert.match(verified.stdout, /verified: 10 checks passed/);
  });

  it("verify-cluster names the first failure: swapped keystores, then an edited lock", async () => {
    const out = join(dir, "tamper");
    assert.equal((await runR3dv([...base(out), "--nodes", "4", "--interop", "0:2"])).code, 0);
    const keys = join(out, "node-2", "validator_keys");
    for (const ext of ["json", "txt"]) {
      await rename(join(keys, `keystore-0.${ext}`), join(keys, `tmp.${ext}`));
      await rename(join(keys, `keystore-1.${ext}`), join(keys, `keystore-0.${ext}`));
      await rename(join(keys, `tmp.${ext}`), join(keys, `keystore-1.${ext}`));
    }
    const swapped = await runR3dv(["verify-cluster", out]);
    assert.equal(swapped.code, 1);
    assert.match(
      swapped.stderr,
      /node-2\/validator_keys\/keystore-0\.json holds share key .* but the lock lists .* for operator 2 of validator 0/,
    );

    const lockFile = join(out, "cluster-lock.json");
    const lock = JSON.parse(await readFile(lockFile, "utf8"));
    lock.name = "renamed";
    await writeFile(lockFile, JSON.stringify(lock));
    const edited = await runR3dv(["verify-cluster", out]);
    assert.equal(edited.code, 1);
    assert.match(edited.stderr, /lock_hash .* does not match the content/);

    // Re-hashing the edit is what anyone who can write the file can do; the operators' signatures still refuse it.
    lock.lock_hash = computeLockHash(lock);
    await writeFile(lockFile, JSON.stringify(lock));
    const rehashed = await runR3dv(["verify-cluster", out]);
    assert.equal(rehashed.code, 1);
    assert.match(
      rehashed.stderr,
      /node_signatures\[0\], the signature of operator 1 .* does not verify over lock_hash/,
    );

    delete lock.node_signatures;
    await writeFile(lockFile, JSON.stringify(lock));
    const unsigned = await runR3dv(["verify-cluster", out]);
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /has no node_signatures.*create the cluster again with r3dv create-cluster/);
  });

  it("r3dv run refuses a lock whose fee recipient was changed and re-hashed, naming the operator's signature", async () => {
    const out = join(dir, "run-tampered");
    assert.equal((await runR3dv([...base(out), "--nodes", "4", "--interop", "0:1"])).code, 0);
    const lockFile = join(out, "cluster-lock.json");
    const lock = JSON.parse(await readFile(lockFile, "utf8"));
    lock.validators[0].fee_recipient = "0x" + "ee".repeat(20);
    lock.lock_hash = computeLockHash(lock);
    await writeFile(lockFile, JSON.stringify(lock));
    // Nothing listens on port 1: the node must refuse the lock before it reaches the network or the beacon node.
    const args = ["run", "--lock", lockFile, "--node-dir", join(out, "node-2"), "--data-dir", join(dir, "run-data")];
    args.push("--beacon-node", "http://127.0.0.1:1");
    const r = await runR3dv(args, {timeoutMs: 60_000});
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^r3dv: error: .*cluster-lock\.json: node_signatures\[0\], the signature of operator 1 \(12D3Koo\w+\), does not verify/m,
    );
    assert.match(r.stderr, /get the original cluster-lock\.json from another operator/);
  });
});
