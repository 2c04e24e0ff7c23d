import {z} from "zod";
import {errorMessage} from "../../util/errors.js";
import {EvmError} from "./errors.js";
import type {BlockVerdict, VerifyTimings} from "./verdict.js";

/**
 * A node's verdict on one block as its peers see it: the payload of an `eth_block` chunk. The words are the
 * issue's and the Beacon API's (`valid`, `invalid`, `unverified`), not the follower's internal ones, since
 * operators read them in `r3dv series --kind eth_block`.
 */
export type BlockViewVerdict = "valid" | "invalid" | "unverified";

export interface BlockView {
  slot: number;
  /** 0x-prefixed block root. */
  root: string;
  parentRoot: string;
  verdict: BlockViewVerdict;
  /** For `invalid` and `unverified`: which check failed, or why the block could not be checked. */
  reason?: string;
  detail?: string;
  /** The post-state root the origin computed (valid blocks). */
  stateRoot?: string;
  /** True when the origin re-executed the payload too (a valid view without it took the payload as given). */
  executed?: boolean;
  /** The execution payload's block hash, when the block carries one. */
  executionBlockHash?: string;
  timings?: VerifyTimings;
}

/**
 * A verdict's detail is a human sentence (the state transition's own message); a lying peer could make it a
 * megabyte. 512 characters hold every message the follower writes, with room.
 */
const MAX_DETAIL_CHARS = 512;
const root = z.string().regex(/^0x[0-9a-f]{64}$/, "expected a 0x-prefixed 32-byte lowercase hex root");
const ms = z.number().nonnegative().finite();

/** The shape a peer's view must have; zod names the first field that is wrong. */
const blockViewSchema = z
  .strictObject({
    slot: z.number().int().nonnegative(),
    root,
    parentRoot: root,
    verdict: z.enum(["valid", "invalid", "unverified"]),
    // Reasons are the follower's check names (bad_state_root, fetch_failed, ...).
    reason: z.string().max(64).optional(),
    detail: z.string().max(MAX_DETAIL_CHARS).optional(),
    stateRoot: root.optional(),
    executed: z.boolean().optional(),
    executionBlockHash: root.optional(),
    timings: z
      .strictObject({slotsMs: ms, signaturesMs: ms, blockMs: ms, hashMs: ms, executionMs: ms.optional(), totalMs: ms})
      .optional(),
  })
  .refine((v) => v.verdict === "valid" || v.reason !== undefined, {
    message: "an invalid or unverified block needs a reason",
    path: ["reason"],
  });

/** The view of a verdict, or null for a verdict that names no slot (a block never fetched): no chunk without a slot. */
export function viewOf(v: BlockVerdict): BlockView | null {
  if (v.slot === undefined || v.parentRoot === undefined) return null;
  const base = {slot: v.slot, root: v.root.toLowerCase(), parentRoot: v.parentRoot.toLowerCase()};
  const exec = v.status !== "unavailable" && v.executionBlockHash ? {executionBlockHash: v.executionBlockHash} : {};
  const detail = (d: string) => d.slice(0, MAX_DETAIL_CHARS);
  switch (v.status) {
    case "verified":
      return {
        ...base,
        verdict: "valid",
        stateRoot: v.stateRoot,
        ...(v.executed ? {executed: true} : {}),
        ...exec,
        timings: v.timings,
      };
    case "invalid":
      return {
        ...base,
        verdict: "invalid",
        reason: v.reason,
        detail: detail(v.detail),
        ...exec,
        ...(v.timings ? {timings: v.timings} : {}),
      };
    case "unavailable":
      return {...base, verdict: "unverified", reason: v.reason, detail: detail(v.detail)};
  }
}

export function encodeBlockView(v: BlockView): Uint8Array {
  return Buffer.from(JSON.stringify(v), "utf8");
}

/**
 * A peer's block view, every field checked: a view is what a lagging node may sign on, so anything but the
 * exact shape is refused with the field that is wrong, never half-read. `slot` is the chunk's own slot: a view
 * must be filed under the slot it speaks of, since W-tracking counts views per slot.
 */
export function decodeBlockView(payload: Uint8Array, slot: number): BlockView {
  const bad = (field: string, reason: string): never => {
    throw new EvmError({code: "EVM_BAD_BLOCK_VIEW", field, reason}, `eth_block chunk: ${field} ${reason}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload).toString("utf8"));
  } catch (e) {
    return bad("payload", `is not JSON (${errorMessage(e)})`);
  }
  const parsed = blockViewSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return bad(issue?.path.join(".") || "payload", issue?.message ?? "has the wrong shape");
  }
  if (parsed.data.slot !== slot) bad("slot", `is ${parsed.data.slot}, the chunk's slot is ${slot}`);
  return parsed.data as BlockView;
}
