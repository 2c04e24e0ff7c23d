import {PublicKey, Signature, verifyMultipleAggregateSignatures, type SignatureSet} from "@chainsafe/blst";
import {initHerumi} from "../hotpath/herumi.js";
import {recoverAndVerify, verifySignature} from "../hotpath/threshold.js";
import type {BlsTask, RecoverResult, SerializedSignatureSet, VerifySetsResult} from "./blsTasks.js";

// Instantiate the wasm module when the worker loads, so no task pays for it.
await initHerumi();

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

export default function run(task: BlsTask): VerifySetsResult | RecoverResult {
  switch (task.kind) {
    case "verifySets":
      return verifySets(task.jobs);
    case "recover":
      return recoverAndVerify(task);
  }
}
