import {createHash} from "node:crypto";
import canonicalizeModule from "canonicalize";
import {toHex} from "../hotpath/bytes.js";

// The package is CommonJS (`module.exports = serialize`) while its types declare an ES default export.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/**
 * SHA-256 over the RFC 8785 (JCS) canonical JSON of `value`, 0x-hex. JCS fixes key order, whitespace and number
 * format, so any tool in any language reproduces the hash from the file alone (the lock and definition hashes).
 */
export function canonicalHash(value: unknown): string {
  const canonical = canonicalize(value);
  if (canonical === undefined) throw new Error("value cannot be canonicalised");
  return toHex(createHash("sha256").update(canonical).digest());
}
