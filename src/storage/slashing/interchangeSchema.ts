import {z} from "zod";

/** EIP-3076 slashing protection interchange format, version 5 (the only one in use). */
export const INTERCHANGE_VERSION = "5";

const root = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "expected a 0x-prefixed 32-byte hex root");
/** The EIP encodes integers as decimal strings (uint64 does not fit a JSON number). */
const uint = z
  .string()
  .regex(/^\d+$/, "expected a decimal integer string")
  .transform((s) => Number(s))
  .refine((n) => Number.isSafeInteger(n), "integer too large");

export const interchangeSchema = z.object({
  metadata: z.object({
    interchange_format_version: z.string(),
    genesis_validators_root: root,
  }),
  data: z.array(
    z.object({
      pubkey: z.string().regex(/^0x[0-9a-fA-F]{96}$/, "expected a 0x-prefixed 48-byte public key"),
      signed_blocks: z.array(z.object({slot: uint, signing_root: root.optional()})),
      signed_attestations: z.array(z.object({source_epoch: uint, target_epoch: uint, signing_root: root.optional()})),
    }),
  ),
});

export type ParsedInterchange = z.output<typeof interchangeSchema>;

/** What `export` writes: numbers back as decimal strings. */
export interface Interchange {
  metadata: {interchange_format_version: string; genesis_validators_root: string};
  data: {
    pubkey: string;
    signed_blocks: {slot: string; signing_root?: string}[];
    signed_attestations: {source_epoch: string; target_epoch: string; signing_root?: string}[];
  }[];
}
