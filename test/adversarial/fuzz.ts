import assert from "node:assert/strict";
import {R3dvError} from "../../src/util/errors.js";

/** mulberry32: a seeded generator, so a failing input is found again by the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What a hostile peer can make of a valid message: every truncation, byte flips, length fields blown up, bytes
 * appended, and random strings. `seed` keeps the set the same from run to run.
 */
export function mutations(encoded: Uint8Array, seed: number, count = 600): Uint8Array[] {
  // A copy in a plain Uint8Array: Buffer's slice() is a view, and mutations must not add up in one buffer.
  const valid = new Uint8Array(encoded);
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const out: Uint8Array[] = [new Uint8Array(0)];
  for (let n = 1; n < valid.length; n += Math.max(1, Math.floor(valid.length / 200))) out.push(valid.slice(0, n));
  for (let i = 0; i < count; i++) {
    const m = new Uint8Array(valid);
    const at = int(m.length);
    switch (i % 4) {
      case 0:
        m[at] = int(256);
        break;
      case 1:
        m[at] = (m[at] as number) ^ (1 << int(8));
        break;
      case 2:
        // A length or count field set to its maximum: the classic over-allocation attempt.
        m.fill(0xff, at, Math.min(m.length, at + 4));
        break;
      default:
        out.push(Buffer.concat([valid, Buffer.from([int(256)])]));
        continue;
    }
    out.push(m);
  }
  for (let i = 0; i < count / 4; i++) out.push(Uint8Array.from({length: int(2048)}, () => int(256)));
  return out;
}

export interface Verdicts {
  accepted: number;
  refused: number;
}

/**
 * Feeds every input to `decode`: it must either return (and then `check` the result) or throw one of the
 * project's typed errors with a code; a TypeError, RangeError or plain Error escaping is a parser that
 * crashes on outside data.
 */
export function assertRefusesCleanly<T>(
  name: string,
  inputs: Uint8Array[],
  decode: (b: Uint8Array) => T,
  check: (input: Uint8Array, out: T) => void = () => undefined,
): Verdicts {
  const v: Verdicts = {accepted: 0, refused: 0};
  for (const input of inputs) {
    let out: T;
    try {
      out = decode(input);
    } catch (e) {
      if (!(e instanceof R3dvError)) {
        assert.fail(
          `${name}: ${Buffer.from(input).toString("hex").slice(0, 120)} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not a typed error`,
        );
      }
      assert.ok(e.code.length > 0 && e.message.length > 0, `${name}: a typed error without a code or message`);
      v.refused++;
      continue;
    }
    check(input, out);
    v.accepted++;
  }
  return v;
}
