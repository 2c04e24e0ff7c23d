import assert from "node:assert/strict";
import {readFile, rm, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {
  KeystoreError,
  decryptKeystoreFile,
  encryptKeystore,
  generatePassword,
  readPasswordFile,
} from "../../src/cluster/keystores.js";
import {bytesEqual} from "../../src/hotpath/bytes.js";
import {interopSecretKey} from "../../src/hotpath/interop.js";
import {tempDir} from "../helpers/cli.js";
import {decryptEip2335} from "../helpers/eip2335.js";

describe("EIP-2335 keystores", () => {
  let dir: string;
  before(async () => (dir = await tempDir()));
  after(() => rm(dir, {recursive: true, force: true}));

  for (const kdf of ["pbkdf2", "scrypt"] as const) {
    it(`round-trips a secret with ${kdf}, readable by an independent decoder`, async () => {
      const secret = interopSecretKey(3);
      const password = generatePassword();
      const file = join(dir, `ks-${kdf}.json`);
      await writeFile(file, (await encryptKeystore(secret, password, kdf, "test")).stringify());
      assert.ok(bytesEqual((await decryptKeystoreFile(file, password)).secret, secret));
      assert.ok(bytesEqual(decryptEip2335(await readFile(file, "utf8"), password), secret));
      assert.equal(JSON.parse(await readFile(file, "utf8")).crypto.kdf.function, kdf);
    });
  }

  it("a wrong password gives a clear error naming the file", async () => {
    const file = join(dir, "ks-pbkdf2.json");
    await assert.rejects(decryptKeystoreFile(file, "wrong"), (e) => {
      assert.ok(e instanceof KeystoreError);
      assert.equal(e.code, "KEYSTORE_WRONG_PASSWORD");
      assert.match(e.message, /wrong password for keystore .*ks-pbkdf2\.json/);
      return true;
    });
  });

  it("refuses a keystore whose declared pubkey is not its secret's", async () => {
    const password = "pw";
    const ks = (await encryptKeystore(interopSecretKey(1), password, "pbkdf2", "")).toObject();
    ks.pubkey = (await encryptKeystore(interopSecretKey(2), password, "pbkdf2", "")).pubkey;
    const file = join(dir, "lying.json");
    await writeFile(file, JSON.stringify(ks));
    await assert.rejects(
      decryptKeystoreFile(file, password),
      (e) => e instanceof KeystoreError && e.code === "KEYSTORE_PUBKEY_MISMATCH" && e.message.includes("lying.json"),
    );
  });

  it("refuses garbage and missing files, naming them", async () => {
    const file = join(dir, "garbage.json");
    await writeFile(file, JSON.stringify({hello: "world"}));
    await assert.rejects(
      decryptKeystoreFile(file, "x"),
      (e) => e instanceof KeystoreError && e.code === "KEYSTORE_MALFORMED" && e.message.includes("garbage.json"),
    );
    await assert.rejects(
      decryptKeystoreFile(join(dir, "nope.json"), "x"),
      (e) => e instanceof KeystoreError && e.code === "KEYSTORE_UNREADABLE",
    );
  });

  it("strips only the trailing newline of a password file", async () => {
    const file = join(dir, "pw.txt");
    await writeFile(file, " secret with spaces \n");
    assert.equal(await readPasswordFile(file), " secret with spaces ");
  });
});
