import {z} from "zod";
import {decodeJsonPayload, encodeJsonPayload} from "../../../../util/jsonPayload.js";

/**
 * Payload of a `partial_exit` chunk: one operator's share signature over one validator's `VoluntaryExit`. The
 * chunk's origin is the operator (its share index); what it signed is rebuilt from `validatorIndex` and `epoch`,
 * so a partial names nothing the receiver takes on trust.
 */
export interface PartialExit {
  /** The validator's (group) public key, lower-case 0x hex. */
  pubkey: string;
  validatorIndex: number;
  /** The earliest epoch the exit may be included at (the `VoluntaryExit`'s `epoch`). */
  epoch: number;
  /** The operator's share signature, 0x hex. */
  signature: string;
  /** Whether the operator asked for the exit to be submitted once recovered (false: signed to be kept, `--out`). */
  submit: boolean;
}

const schema = z.object({
  pubkey: z.string().regex(/^0x[0-9a-f]{96}$/),
  validatorIndex: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative(),
  signature: z.string().regex(/^0x[0-9a-f]{192}$/),
  submit: z.boolean(),
});

export function encodePartialExit(p: PartialExit): Uint8Array {
  return encodeJsonPayload(p);
}

export function decodePartialExit(bytes: Uint8Array): PartialExit | null {
  return decodeJsonPayload(bytes, schema);
}
