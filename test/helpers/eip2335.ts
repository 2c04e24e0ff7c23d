import {createDecipheriv, createHash, pbkdf2Sync, scryptSync} from "node:crypto";

/**
 * A from-the-spec EIP-2335 decoder written only with node:crypto, independent of @chainsafe/bls-keystore,
 * so tests prove our keystores are readable by any implementation of the EIP, not just by the library that
 * wrote them. Passwords here are ASCII, so the EIP's NFKD/control-code step is the identity.
 */
interface Keystore {
  version: number;
  pubkey: string;
  path: string;
  uuid: string;
  crypto: {
    kdf: {function: "pbkdf2" | "scrypt"; params: Record<string, number | string>};
    checksum: {function: "sha256"; message: string};
    cipher: {function: "aes-128-ctr"; params: {iv: string}; message: string};
  };
}

export function decryptEip2335(json: string, password: string): Uint8Array {
  const ks = JSON.parse(json) as Keystore;
  if (ks.version !== 4) throw new Error(`EIP-2335 keystores are version 4, got ${ks.version}`);
  const {kdf, checksum, cipher} = ks.crypto;
  const salt = Buffer.from(String(kdf.params.salt), "hex");
  const dklen = Number(kdf.params.dklen);
  const key =
    kdf.function === "pbkdf2"
      ? pbkdf2Sync(password, salt, Number(kdf.params.c), dklen, "sha256")
      : scryptSync(password, salt, dklen, {
          N: Number(kdf.params.n),
          r: Number(kdf.params.r),
          p: Number(kdf.params.p),
          maxmem: 2 ** 31,
        });
  const cipherText = Buffer.from(cipher.message, "hex");
  const sum = createHash("sha256")
    .update(Buffer.concat([key.subarray(16, 32), cipherText]))
    .digest("hex");
  if (sum !== checksum.message) throw new Error("checksum mismatch: wrong password");
  const decipher = createDecipheriv("aes-128-ctr", key.subarray(0, 16), Buffer.from(cipher.params.iv, "hex"));
  return new Uint8Array(Buffer.concat([decipher.update(cipherText), decipher.final()]));
}
