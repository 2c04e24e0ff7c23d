import {z} from "zod";

/** The Beacon API's `{"data": ...}` envelope; beacon nodes answer numbers as decimal strings. */
const uintString = z.string().regex(/^\d+$/, "expected a decimal integer string");
const hex = z.string().regex(/^0x[0-9a-fA-F]*$/, "expected 0x-prefixed hex");

export const genesisResponse = z.object({
  data: z.object({
    genesis_time: uintString,
    genesis_validators_root: hex.length(66),
    genesis_fork_version: hex.length(10),
  }),
});

/** Only the keys r3dv reads are required; the rest of the spec is passed to Lodestar's config parser. */
export const specResponse = z.object({
  data: z
    .object({
      PRESET_BASE: z.string(),
      CONFIG_NAME: z.string().optional(),
      SECONDS_PER_SLOT: uintString.optional(),
      SLOT_DURATION_MS: uintString.optional(),
      SLOTS_PER_EPOCH: uintString,
    })
    .passthrough()
    .refine(
      (d) => d.SECONDS_PER_SLOT !== undefined || d.SLOT_DURATION_MS !== undefined,
      "neither SECONDS_PER_SLOT nor SLOT_DURATION_MS",
    ),
});

export const syncingResponse = z.object({
  data: z.object({
    head_slot: uintString,
    sync_distance: uintString,
    is_syncing: z.boolean(),
    is_optimistic: z.boolean().optional(),
  }),
});

export const validatorsResponse = z.object({
  data: z.array(z.object({index: uintString, validator: z.object({pubkey: hex.length(98)})})),
});

/** One validator's record: what an exit needs (its index, key, status and exit epoch). */
export const validatorResponse = z.object({
  data: z.object({
    index: uintString,
    status: z.string(),
    validator: z.object({pubkey: hex.length(98), exit_epoch: uintString}),
  }),
});
