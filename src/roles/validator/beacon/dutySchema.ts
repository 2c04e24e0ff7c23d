import {z} from "zod";

/**
 * The Beacon API answers the duties read, checked for what the duty needs and nothing else. Metadata beside
 * `data` (`execution_optimistic`, `finalized`, `dependent_root`, `version`, `canonical`, …) came into the spec
 * over the years: a node older or newer than the client library omits some or sends others (Lodestar 1.5.1
 * sends no `finalized`), and none of it changes what a validator signs. So metadata is optional and unknown
 * keys pass; only `data` and the fields a duty reads are required, and their absence is a typed error.
 */
const uintString = z.string().regex(/^\d+$/, "expected a decimal integer string");
const hex = z.string().regex(/^0x[0-9a-fA-F]*$/, "expected 0x-prefixed hex");
const root = hex.length(66);
const pubkey = hex.length(98);

/** `{data: {...}}` whose object an SSZ type reads (its own errors name the field). */
export const objectData = z.object({data: z.record(z.string(), z.unknown())});

/** Answers whose data's form depends on the fork: `version` when the node sends it (else the slot's fork). */
export const versionedData = z.object({version: z.string().optional(), data: z.record(z.string(), z.unknown())});
export const versionedList = z.object({version: z.string().optional(), data: z.array(z.unknown())});

export const headerResponse = z.object({
  data: z.object({root, header: z.object({message: z.object({slot: uintString}).passthrough(), signature: hex})}),
});

/** Only a cache key (see dependentKey): a malformed one (the embedded devnet's is an object) is not a failure. */
const dutiesMeta = {dependent_root: z.unknown().optional()};

export const attesterDutiesResponse = z.object({
  ...dutiesMeta,
  data: z.array(
    z.object({
      pubkey,
      validator_index: uintString,
      committee_index: uintString,
      committee_length: uintString,
      committees_at_slot: uintString,
      validator_committee_index: uintString,
      slot: uintString,
    }),
  ),
});

export const proposerDutiesResponse = z.object({
  ...dutiesMeta,
  data: z.array(z.object({pubkey, validator_index: uintString, slot: uintString})),
});

export const syncDutiesResponse = z.object({
  data: z.array(z.object({pubkey, validator_index: uintString, validator_sync_committee_indices: z.array(uintString)})),
});

/** `/eth/v1/validator/liveness/{epoch}`: whether each validator was seen signing in the epoch. */
export const livenessResponse = z.object({
  data: z.array(z.object({index: uintString, is_live: z.boolean()})),
});

export const committeesResponse = z.object({
  data: z.array(z.object({index: uintString, slot: uintString, validators: z.array(uintString)})),
});
