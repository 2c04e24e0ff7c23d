import type {z} from "zod";

/** A chunk payload as UTF-8 JSON: readable in `r3dv series` and by any peer version that knows the fields. */
export function encodeJsonPayload(value: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(value)));
}

/** The payload parsed and checked against `schema`, or null when it is not JSON or not of that shape. */
export function decodeJsonPayload<T>(bytes: Uint8Array, schema: z.ZodType<T>): T | null {
  try {
    const r = schema.safeParse(JSON.parse(Buffer.from(bytes).toString("utf8")));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
