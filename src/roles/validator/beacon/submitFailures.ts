import {z} from "zod";
import type {BeaconTarget} from "./beaconUrl.js";
import {BeaconError, type BeaconErrorType} from "./errors.js";

/** One item of a batch a beacon node refused, as the Beacon API names it: its position and why. */
export interface ItemFailure {
  index: number;
  message: string;
}

/** Per item of a batch, why no beacon node took it; an item that is absent was taken by some node. */
export type ItemFailures = Map<number, BeaconError>;

/**
 * The Beacon API's answer to a pool submission with invalid items (`IndexedErrorMessage`): 400 with
 * `{code, message, failures: [{index, message}]}`, the valid items published all the same. Lodestar's older
 * releases send the same body with 500; Lodestar 1.5.1 sends no `failures` at all (BeaconSet then asks again
 * item by item).
 */
const indexedErrorMessage = z.object({
  message: z.string().optional(),
  failures: z.array(z.object({index: z.coerce.number().int().nonnegative(), message: z.string()})),
});

/**
 * Every node of the cluster submits what it recovered, to every beacon node it has: all copies but the first
 * are "already known" (Lodestar answers them with an error), which means the message is in the pool. That is
 * what a submission wants.
 */
export function isAlreadyKnown(message: string): boolean {
  // PublishError.Duplicate: Lodestar 1.5.1's answer (HTTP 500) to a block its gossip layer already carries.
  return /ALREADY_KNOWN|already known|PublishError\.Duplicate/i.test(message);
}

/** A batch the node refused item by item: the error of the request, with the failures of its items. */
export class ItemsRefusedError extends BeaconError {
  constructor(
    type: Extract<BeaconErrorType, {code: "BEACON_REFUSED"}>,
    readonly failures: ItemFailure[],
  ) {
    super(
      type,
      `beacon node ${type.url} refused ${failures.length} item(s) of ${type.route} (HTTP ${type.status}): ${failures
        .map((f) => `[${f.index}] ${f.message}`)
        .join("; ")
        .slice(0, 300)}`,
    );
  }

  /** Item `index`'s own refusal, as an error of its own. */
  itemError(f: ItemFailure): BeaconError {
    const t = this.type as Extract<BeaconErrorType, {code: "BEACON_REFUSED"}>;
    return new BeaconError(
      {...t, reason: f.message},
      `beacon node ${t.url} refused item ${f.index} of ${t.route} (HTTP ${t.status}): ${f.message}`,
    );
  }
}

/**
 * The per-item failures of a refused batch of `count` items, as an error; undefined when the body names none
 * (or names items the batch does not have: a body that cannot be trusted to say which item failed).
 */
export function itemsRefused(
  t: BeaconTarget,
  route: string,
  status: number,
  body: string,
  count: number,
): ItemsRefusedError | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = indexedErrorMessage.safeParse(json);
  if (!parsed.success || parsed.data.failures.length === 0) return undefined;
  const failures = parsed.data.failures;
  if (failures.some((f) => f.index >= count)) return undefined;
  return new ItemsRefusedError(
    {code: "BEACON_REFUSED", url: t.label, route, status, reason: parsed.data.message ?? body.slice(0, 300)},
    failures,
  );
}
