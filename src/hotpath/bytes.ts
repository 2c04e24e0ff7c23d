/** Hex helpers for the 0x-prefixed encoding that the Beacon API, keystores and the lock all use. */
export function toHex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

const HEX_RE = /^0x([0-9a-fA-F]{2})*$/;

/** Parses 0x-prefixed hex; throws a plain Error saying what was expected, callers wrap it with context. */
export function fromHex(hex: string, expectedLength?: number): Uint8Array {
  if (typeof hex !== "string" || !HEX_RE.test(hex)) {
    throw new Error(`expected 0x-prefixed hex, got ${JSON.stringify(String(hex).slice(0, 20))}`);
  }
  const bytes = new Uint8Array(Buffer.from(hex.slice(2), "hex"));
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new Error(`expected ${expectedLength} bytes, got ${bytes.length}`);
  }
  return bytes;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
