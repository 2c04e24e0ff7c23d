import {randomBytes} from "node:crypto";
import {readFile} from "node:fs/promises";
import {type IKeystore, Keystore, create, defaultPbkdfModule, defaultScryptModule} from "@chainsafe/bls-keystore";
import {bytesEqual, fromHex, toHex} from "../hotpath/bytes.js";
import {secretToPublicKey} from "../hotpath/threshold.js";
import {R3dvError, errorMessage} from "../util/errors.js";

/**
 * `pbkdf2-public` is for keys that are public anyway (the devnet's interop keys) and never offered to users:
 * EIP-2335 leaves the work factor to the writer, and at 2^18 (67 ms a keystore here) the 10,000 share keystores of a
 * 2,500-validator devnet cost 11 minutes of CPU to write and as much to read, for keys anyone can derive.
 */
export type Kdf = "scrypt" | "pbkdf2" | "pbkdf2-public";
export const KDFS: readonly Kdf[] = ["scrypt", "pbkdf2"];
/** 2^10: about 0.3 ms a keystore; the format stays EIP-2335, any tool reads it. */
const PUBLIC_KEY_PBKDF2_ROUNDS = 1024;

export type KeystoreErrorType =
  | {code: "KEYSTORE_UNREADABLE"; file: string; reason: string}
  | {code: "KEYSTORE_MALFORMED"; file: string; reason: string}
  | {code: "KEYSTORE_WRONG_PASSWORD"; file: string}
  | {code: "KEYSTORE_PUBKEY_MISMATCH"; file: string; declared: string; actual: string};

export class KeystoreError extends R3dvError<KeystoreErrorType> {}

/**
 * EIP-2335 keystore for one secret. Both KDFs use the EIP's recommended work factors (scrypt n = 2^18,
 * pbkdf2 c = 2^18): the password files sit next to the keystores, but a stolen backup of keystores alone
 * must still be expensive to brute-force.
 */
export async function encryptKeystore(
  secret: Uint8Array,
  password: string,
  kdf: Kdf,
  description: string,
): Promise<Keystore> {
  const kdfModule = kdf === "scrypt" ? defaultScryptModule() : defaultPbkdfModule();
  if (kdf === "pbkdf2-public") (kdfModule.params as {c: number}).c = PUBLIC_KEY_PBKDF2_ROUNDS;
  // An empty path: a share is not derived from a seed, so no EIP-2334 path describes it.
  return Keystore.create(password, secret, secretToPublicKey(secret), "", description, kdfModule);
}

/**
 * The decrypted-share cache's keystore: every share's secret concatenated (longer than the EIP's 32 bytes, so
 * made with the library's functions, not its class), scrypt at the EIP's work factor like the keystores it stands
 * for, and no public key (each share is checked against the lock when it is read).
 */
export function cacheKeystore(secret: Uint8Array, password: string): Promise<IKeystore> {
  return create(password, secret, new Uint8Array(0), "", "r3dv share cache", defaultScryptModule());
}

/** 32 random bytes as hex: as strong as the key it protects, and plain ASCII so no normalisation applies. */
export function generatePassword(): string {
  return randomBytes(32).toString("hex");
}

/**
 * Password files end with a newline when written by hand or by `echo`; EIP-2335 passwords never do, so
 * strip trailing CR/LF (as staking tools do) and keep every other character.
 */
export async function readPasswordFile(file: string): Promise<string> {
  try {
    return (await readFile(file, "utf8")).replace(/[\r\n]+$/, "");
  } catch (e) {
    throw new KeystoreError(
      {code: "KEYSTORE_UNREADABLE", file, reason: errorMessage(e)},
      `cannot read password file ${file}: ${errorMessage(e)}`,
    );
  }
}

export interface DecryptedKeystore {
  file: string;
  secret: Uint8Array;
  pubkey: Uint8Array;
}

/** Decrypts a keystore file and checks that the secret belongs to the public key the keystore declares. */
export async function decryptKeystoreFile(file: string, password: string): Promise<DecryptedKeystore> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new KeystoreError(
      {code: "KEYSTORE_UNREADABLE", file, reason: errorMessage(e)},
      `cannot read keystore ${file}: ${errorMessage(e)}`,
    );
  }
  let keystore: Keystore;
  try {
    keystore = Keystore.parse(text);
  } catch (e) {
    throw new KeystoreError(
      {code: "KEYSTORE_MALFORMED", file, reason: errorMessage(e)},
      `${file} is not an EIP-2335 keystore: ${errorMessage(e)}`,
    );
  }
  // One KDF run: decrypt checks the checksum itself (and throws "Invalid password"), so a separate
  // verifyPassword would double the deliberately slow part of every node start.
  let secret: Uint8Array;
  try {
    secret = await keystore.decrypt(password);
  } catch (e) {
    if (errorMessage(e) === "Invalid password") {
      throw new KeystoreError(
        {code: "KEYSTORE_WRONG_PASSWORD", file},
        `wrong password for keystore ${file}: check the password file that belongs to it`,
      );
    }
    throw new KeystoreError(
      {code: "KEYSTORE_MALFORMED", file, reason: errorMessage(e)},
      `${file} cannot be decrypted: ${errorMessage(e)}`,
    );
  }
  const pubkey = secretToPublicKey(secret);
  if (keystore.pubkey) {
    const declared = fromHex("0x" + keystore.pubkey.replace(/^0x/, ""));
    if (!bytesEqual(declared, pubkey)) {
      throw new KeystoreError(
        {code: "KEYSTORE_PUBKEY_MISMATCH", file, declared: toHex(declared), actual: toHex(pubkey)},
        `keystore ${file} declares pubkey ${toHex(declared)} but its secret belongs to ${toHex(pubkey)}`,
      );
    }
  }
  return {file, secret, pubkey};
}
