import {PublicKey, Signature, verifyMultipleAggregateSignatures, type SignatureSet} from "@chainsafe/blst";
import {recoverAndVerifyMany} from "../hotpath/batchRecover.js";
import {initHerumi} from "../hotpath/herumi.js";
import {sign, verifySignature} from "../hotpath/threshold.js";
import type {BlsTask, RecoverOutcome, SerializedSignatureSet, VerifySetsResult} from "./blsTasks.js";

// Instantiate the wasm module when the worker loads, so no task pays for it.
const herumi = await initHerumi();
// Partials are decoded without herumi's subgroup check (about 0.3 ms per partial: a 3-of-4 recovery takes 2.7 ms
// with it, 1.7 ms without, on the 2-core machine of DESIGN.md): a partial
// off the subgroup cannot make a wrong signature pass, because every recovered signature is group-checked and
// verified by blst before use, and the one-by-one fallback group-checks each partial as it names the bad ones.
herumi.verifySignatureOrder(false);

function deserialize(set: SerializedSignatureSet): SignatureSet | null {
  try {
    // Validate keys and group-check signatures here: batch verification assumes points in the subgroup.
    return {msg: set.message, pk: PublicKey.fromBytes(set.pubkey, true), sig: Signature.fromBytes(set.signature, true)};
  } catch {
    return null;
  }
}

function verifySets(jobs: SerializedSignatureSet[][]): VerifySetsResult {
  const sets: SignatureSet[] = [];
  let malformed = false;
  for (const job of jobs) {
    for (const s of job) {
      const d = deserialize(s);
      if (d === null) malformed = true;
      else sets.push(d);
    }
  }
  // One randomised multi-pairing for everything; only when it fails are sets checked one by one.
  if (!malformed && sets.length > 0 && verifyMultipleAggregateSignatures(sets)) {
    return {jobValid: jobs.map(() => true), batchedSets: sets.length, fellBack: false};
  }
  const jobValid = jobs.map((job) => job.every((s) => verifySignature(s.pubkey, s.message, s.signature)));
  return {jobValid, batchedSets: sets.length, fellBack: true};
}

function signMany(secrets: Uint8Array, messages: Uint8Array[]): Uint8Array[] {
  try {
    return messages.map((message, i) => sign(secrets.subarray(32 * i, 32 * i + 32), message));
  } finally {
    secrets.fill(0);
  }
}

export default function run(task: BlsTask): VerifySetsResult | RecoverOutcome[] | Uint8Array[] {
  switch (task.kind) {
    case "signMany":
      return signMany(task.secrets, task.messages);
    case "verifySets":
      return verifySets(task.jobs);
    case "recoverMany":
      return recoverAndVerifyMany(task.items);
  }
}
