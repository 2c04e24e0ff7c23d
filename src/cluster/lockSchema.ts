import {z} from "zod";
import {NETWORK_NAMES} from "./network.js";
import {gasLimitSchema} from "./gasLimit.js";

/** The lock's format identifier; a reader refuses any other, so a future format cannot be misread. */
export const LOCK_VERSION = "r3dv-lock/v1";

export const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`), `expected 0x-prefixed hex of ${bytes} bytes`);

export const operatorSchema = z.strictObject({
  /** 1-based; operator i holds share i of every validator (the share's x coordinate). */
  index: z.number().int().min(1),
  peer_id: z.string().min(1),
  /** host:port where the node's libp2p TCP listener is reached. */
  address: z.string().regex(/^[^\s:]+:\d{1,5}$/, "expected host:port"),
});

export const validatorSchema = z.strictObject({
  pubkey: hex(48),
  share_pubkeys: z.array(hex(48)).min(1),
  fee_recipient: hex(20),
  withdrawal_credentials: hex(32),
  /** What the validator's builder registrations ask for (gasLimit.ts); locks made before it default to 60M. */
  gas_limit: gasLimitSchema.optional(),
});

/** The fields a cluster definition and its lock share: the lock carries on what the operators agreed to. */
export const clusterFields = {
  name: z.string().min(1),
  uuid: z.uuid(),
  created_at: z.iso.datetime(),
  network: z.enum(NETWORK_NAMES),
  fork_version: hex(4),
  threshold: z.number().int().min(1),
  operators: z.array(operatorSchema).min(3),
};

export const lockBodySchema = z.strictObject({
  version: z.literal(LOCK_VERSION),
  ...clusterFields,
  validators: z.array(validatorSchema).min(1),
  /**
   * A lock made by `r3dv reshare`: the lock it replaces, whose validators' keys it keeps, and the epoch from
   * which it signs instead of that lock.
   */
  reshared_from: z.strictObject({lock_hash: hex(32), switch_epoch: z.number().int().min(0)}).optional(),
});

/**
 * `lock_hash` is over the body; `node_signatures[i]` is operator i+1's Ed25519 identity signature over that hash
 * (see lockSignature.ts). Neither is hashed: the hash is what is signed.
 */
export const lockSchema = lockBodySchema.extend({lock_hash: hex(32), node_signatures: z.array(hex(64))});

export type LockBody = z.infer<typeof lockBodySchema>;
export type ClusterLock = z.infer<typeof lockSchema>;
export type LockOperator = z.infer<typeof operatorSchema>;
export type LockValidator = z.infer<typeof validatorSchema>;
