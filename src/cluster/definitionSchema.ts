import {z} from "zod";
import {clusterFields, hex} from "./lockSchema.js";
import {gasLimitSchema} from "./gasLimit.js";

/** The definition's format identifier; a reader refuses any other, so a future format cannot be misread. */
export const DEFINITION_VERSION = "r3dv-definition/v1";

/**
 * What the operators of a DKG agree on before any key exists: who takes part (peer ids and addresses, the same
 * operator entries the lock will carry), the threshold, how many validators, and where their money goes.
 */
export const definitionBodySchema = z.strictObject({
  version: z.literal(DEFINITION_VERSION),
  ...clusterFields,
  validators: z.number().int().min(1),
  withdrawal_address: hex(20),
  compounding: z.boolean(),
  fee_recipient: hex(20),
  /** Every validator's builder registration gas limit; definitions made before it default to 60M. */
  gas_limit: gasLimitSchema.optional(),
  /**
   * Present for a reshare (r3dv reshare): the lock whose validators get new shares, the old operators (their
   * indices in that lock) that deal their shares, at least its threshold of them, and the epoch from which the
   * new lock signs instead of the old (0: at once, for a cluster that is stopped).
   */
  reshare: z
    .strictObject({
      lock_hash: hex(32),
      dealers: z.array(z.number().int().min(1)).min(1),
      switch_epoch: z.number().int().min(0),
    })
    .optional(),
});

/** `definition_hash` is over the body; every operator signs it before the ceremony starts. */
export const definitionSchema = definitionBodySchema.extend({definition_hash: hex(32)});

export type DefinitionBody = z.infer<typeof definitionBodySchema>;
export type ClusterDefinition = z.infer<typeof definitionSchema>;
