import {toHex} from "../hotpath/bytes.js";
import {ZERO_HASH, decodeEntryValue, entryHash, keySeq} from "./entry.js";

export interface ChainReport {
  ok: boolean;
  entries: number;
  firstSeq: number;
  lastSeq: number;
  headHash: string;
  error?: string;
}

/**
 * Walks the whole chain: every entry's prevHash equals the previous entry's hash, sequence numbers have no
 * holes, and the first kept entry after a compaction matches the recorded anchor. Long: run it in a worker.
 */
export function verifyChain(
  log: Iterable<{key: Uint8Array; value: Uint8Array}>,
  anchor?: {seq: number; prevHash: string},
): ChainReport {
  let prev: Uint8Array | undefined;
  let prevSeq = -1;
  let entries = 0;
  let firstSeq = -1;
  const fail = (seq: number, reason: string): ChainReport => ({
    ok: false,
    entries,
    firstSeq,
    lastSeq: prevSeq,
    headHash: prev ? toHex(prev) : "",
    error: `entry ${seq}: ${reason}`,
  });
  for (const {key, value} of log) {
    const seq = keySeq(key);
    const e = decodeEntryValue(seq, value);
    if (prev === undefined) {
      firstSeq = seq;
      // The genesis entry stays; a compaction gap follows it and is bridged by the anchor.
      if (!(seq === 1 && Buffer.compare(e.prevHash, ZERO_HASH) === 0))
        return fail(seq, "first entry is not the genesis entry");
    } else if (seq !== prevSeq + 1) {
      if (!anchor || anchor.seq !== seq) return fail(seq, `hole after entry ${prevSeq}`);
      if (toHex(e.prevHash) !== anchor.prevHash) return fail(seq, "prevHash does not match the compaction anchor");
    } else if (Buffer.compare(e.prevHash, prev) !== 0) {
      return fail(seq, "prevHash does not match the previous entry's hash");
    }
    prev = entryHash(seq, value);
    prevSeq = seq;
    entries++;
  }
  return {ok: true, entries, firstSeq, lastSeq: prevSeq, headHash: prev ? toHex(prev) : ""};
}
