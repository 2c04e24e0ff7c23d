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

export function decodeAttestationValue(bytes: Uint8Array): Map<number, phase0.AttestationData> | null {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) return null;
  const b = Buffer.from(bytes);
  const out = new Map<number, phase0.AttestationData>();
  try {
    for (let o = 0; o < b.length; o += RECORD) {
      out.set(Number(b.readBigUInt64BE(o)), ssz.phase0.AttestationData.deserialize(b.subarray(o + 8, o + RECORD)));
    }
  } catch {
    return null;
  }
  return out;
}
