import {z} from "zod";
import {R3dvError, errorMessage} from "../../util/errors.js";
import type {Attempt} from "./attempts.js";
import type {LockMessage} from "./lockRound.js";
import type {DkgMessage} from "./messages.js";

/**
 * The DKG's messages on the wire: JSON with bytes as base64. Compact enough (a deal for 1,000 validators and
 * threshold 5 is 240 kB of points, 320 kB encoded) and readable in a capture when a ceremony fails. Decoding
 * checks every field's type, so the state machine only ever sees well-typed messages (it checks sizes itself).
 */
export type WireMessage = DkgMessage | LockMessage | AbortMessage;

/** Sent by an operator whose ceremony stopped, so the others stop at once with its reason, not at a deadline. */
export interface AbortMessage {
  kind: "abort";
  from: number;
  reason: string;
}

/** A reason is one error message; a longer one is cut, not refused, so the abort still gets through. */
export const MAX_ABORT_REASON = 2000;

export type DkgWireErrorType = {code: "DKG_WIRE_MALFORMED"; reason: string};
export class DkgWireError extends R3dvError<DkgWireErrorType> {}

const bytes = z.strictObject({b64: z.string()}).transform((o) => new Uint8Array(Buffer.from(o.b64, "base64")));
const index = z.number().int().min(1).max(0xffff);
const signedDigest = z.strictObject({digest: bytes, signature: bytes});
const shares = z.array(bytes);
const deal = {commitments: z.array(z.array(bytes)), signature: bytes};

const wireSchema = z.discriminatedUnion("kind", [
  z.strictObject({kind: z.literal("hello"), from: index, definitionHash: bytes, signature: bytes}),
  z.strictObject({kind: z.literal("deal"), from: index, ...deal}),
  z.strictObject({kind: z.literal("share"), from: index, to: index, shares, signature: bytes}),
  z.strictObject({kind: z.literal("echo"), from: index, deals: z.array(signedDigest.nullable())}),
  z.strictObject({
    kind: z.literal("complaint"),
    from: index,
    complaints: z.array(
      z.strictObject({
        dealer: index,
        reason: z.enum(["missing_deal", "missing_share", "bad_share"]),
        evidence: z.strictObject({shares, signature: bytes}).optional(),
      }),
    ),
    equivocations: z.array(z.strictObject({dealer: index, a: signedDigest, b: signedDigest})),
  }),
  z.strictObject({
    kind: z.literal("answer"),
    from: index,
    reveals: z.array(z.strictObject({to: index, shares})),
    deal: z.strictObject(deal).optional(),
  }),
  z.strictObject({kind: z.literal("abort"), from: index, reason: z.string().max(MAX_ABORT_REASON)}),
  z.strictObject({
    kind: z.literal("lock"),
    from: index,
    lockHash: z.string(),
    signature: bytes,
    depositPartials: z.array(bytes),
  }),
]);

/** A message as it crosses the wire: with its sender's attempt (attempts.ts), which the transport judges first. */
export interface Envelope {
  attempt: Attempt;
  message: WireMessage;
}

const envelopeSchema = z.strictObject({
  attempt: z.strictObject({session: bytes, startedAt: z.number().int().min(0)}),
  message: wireSchema,
});

export function encodeEnvelope(e: Envelope): Uint8Array {
  return encodeJson(e);
}

export function decodeEnvelope(frame: Uint8Array): Envelope {
  return parseWire(frame, envelopeSchema);
}

export function encodeWireMessage(message: WireMessage): Uint8Array {
  return encodeJson(message);
}

/** JSON with every byte array as {b64}: what decoding's `bytes` reads back. */
function encodeJson(value: Envelope | WireMessage): Uint8Array {
  // The holder's own value, not `value`: JSON.stringify has already turned a Buffer into {type, data} by toJSON.
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Uint8Array ? {b64: Buffer.from(raw).toString("base64")} : value;
  });
  return Buffer.from(json, "utf8");
}

export function decodeWireMessage(frame: Uint8Array): WireMessage {
  return parseWire(frame, wireSchema);
}

function parseWire<T>(frame: Uint8Array, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(frame).toString("utf8"));
  } catch (e) {
    throw new DkgWireError({code: "DKG_WIRE_MALFORMED", reason: errorMessage(e)}, `DKG message: ${errorMessage(e)}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const reason = `${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`;
    throw new DkgWireError({code: "DKG_WIRE_MALFORMED", reason}, `DKG message: ${reason}`);
  }
  return parsed.data;
}
