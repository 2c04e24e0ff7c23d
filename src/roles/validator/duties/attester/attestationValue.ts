import {MAX_COMMITTEES_PER_SLOT} from "@lodestar/params";
import {type phase0, ssz} from "@lodestar/types";

/**
 * The value a slot's attester consensus agrees on: the attestation data of every committee the cluster's
 * validators sit in at that slot (one entry from Electra on, where data.index is always 0), sorted by
 * committee index. Fixed-size SSZ records, so every node encodes the same data to the same bytes.
 */
const RECORD = 8 + (ssz.phase0.AttestationData.fixedSize as number);

export function encodeAttestationValue(byCommittee: Map<number, phase0.AttestationData>): Uint8Array {
  const entries = [...byCommittee.entries()].sort((a, b) => a[0] - b[0]);
  const out = Buffer.alloc(entries.length * RECORD);
  entries.forEach(([committee, data], k) => {
    out.writeBigUInt64BE(BigInt(committee), k * RECORD);
    Buffer.from(ssz.phase0.AttestationData.serialize(data)).copy(out, k * RECORD + 8);
  });
  return new Uint8Array(out);
}

/**
 * The inverse of `encodeAttestationValue`, and only of it: committees strictly ascending (a repeated committee
 * would let two encodings stand for one value) and below the protocol's committee count per slot, and every
 * record read back exactly.
 */
export function decodeAttestationValue(bytes: Uint8Array): Map<number, phase0.AttestationData> | null {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) return null;
  const b = Buffer.from(bytes);
  const out = new Map<number, phase0.AttestationData>();
  let previous = -1;
  try {
    for (let o = 0; o < b.length; o += RECORD) {
      const committee = b.readBigUInt64BE(o);
      if (committee >= BigInt(MAX_COMMITTEES_PER_SLOT) || Number(committee) <= previous) return null;
      previous = Number(committee);
      const record = b.subarray(o + 8, o + RECORD);
      const data = ssz.phase0.AttestationData.deserialize(record);
      // SSZ's number type reads a uint64 above 2^53 as Infinity: such a slot or epoch is no real value.
      if (!record.equals(ssz.phase0.AttestationData.serialize(data))) return null;
      out.set(previous, data);
    }
  } catch {
    return null;
  }
  return out;
}
