import type {z} from "zod";
import {errorMessage} from "../../../util/errors.js";
import type {BeaconTarget} from "./beaconUrl.js";
import {BodyCapError, cappedFetch} from "./cappedFetch.js";
import {BeaconError} from "./errors.js";
import {itemsRefused} from "./submitFailures.js";

/**
 * A beacon node request that takes longer than this is treated as failed: Charon's health checks call a beacon
 * node unhealthy beyond 1 s, and an attestation has a third of a slot (4 s on mainnet) for everything.
 */
export const BEACON_TIMEOUT_MS = 2_000;

/**
 * Raw Beacon API requests for the routes the client library does not cover (or covers only in a newer form
 * than some nodes serve). Every failure is a typed error naming the node by its label, never its real URL,
 * with the HTTP status when there was one: the beacon set decides from it whether the node is at fault.
 */
export function getJson<T>(
  t: BeaconTarget,
  route: string,
  schema: z.ZodType<T>,
  timeoutMs = BEACON_TIMEOUT_MS,
): Promise<T> {
  return requestJson(t, route, schema, {headers: {...t.headers, accept: "application/json"}}, timeoutMs);
}

export function postJsonFor<T>(t: BeaconTarget, route: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
  return requestJson(t, route, schema, {
    method: "POST",
    headers: {...t.headers, accept: "application/json", "content-type": "application/json"},
    body: JSON.stringify(body),
  });
}

/**
 * A POST whose answer carries nothing but its status (submissions). Any error status is a refusal: the node
 * looked at the messages and said no. Older Lodestar answers an invalid attestation in a batch with HTTP 500
 * and its per-item failures; that says nothing about the node's health, so it must not bench it.
 */
export async function postJson(t: BeaconTarget, route: string, body: unknown): Promise<void> {
  const res = await send(t, route, {
    method: "POST",
    headers: {...t.headers, "content-type": "application/json"},
    body: JSON.stringify(body),
  });
  if (res.ok) return;
  const text = await readText(t, route, res);
  // A batch refused item by item says which items: the valid ones were taken (see submitFailures.ts).
  const refused = Array.isArray(body) ? itemsRefused(t, route, res.status, text, body.length) : undefined;
  if (refused) throw refused;
  const reason = text.slice(0, 300);
  throw new BeaconError(
    {code: "BEACON_REFUSED", url: t.label, route, status: res.status, reason},
    `beacon node ${t.label} refused ${route} (HTTP ${res.status}): ${reason}`,
  );
}

async function send(
  t: BeaconTarget,
  route: string,
  init: RequestInit,
  timeoutMs = BEACON_TIMEOUT_MS,
): Promise<Response> {
  try {
    return await cappedFetch(t.url + route, {...init, signal: AbortSignal.timeout(timeoutMs)});
  } catch (e) {
    throw new BeaconError(
      {code: "BEACON_UNREACHABLE", urls: [t.label], reason: errorMessage(e)},
      `beacon node ${t.label} did not answer ${route}: ${errorMessage(e)}`,
    );
  }
}

/** A node that dies between the headers and the end of the body did not answer either. */
async function readText(t: BeaconTarget, route: string, res: Response): Promise<string> {
  try {
    return await res.text();
  } catch (e) {
    if (e instanceof BodyCapError) {
      const type = {code: "BEACON_BAD_RESPONSE" as const, url: t.label, route, status: res.status, reason: e.message};
      throw new BeaconError(type, `beacon node ${t.label} answered ${route}: ${e.message}`);
    }
    throw new BeaconError(
      {code: "BEACON_UNREACHABLE", urls: [t.label], reason: errorMessage(e)},
      `beacon node ${t.label} broke off its answer to ${route}: ${errorMessage(e)}`,
    );
  }
}

/** 4xx: the node answered and refused this request; 5xx: the node is failing (503: syncing). */
export function httpError(t: BeaconTarget, route: string, status: number, reason: string): BeaconError {
  if (status >= 400 && status < 500) {
    return new BeaconError(
      {code: "BEACON_REFUSED", url: t.label, route, status, reason},
      `beacon node ${t.label} refused ${route} (HTTP ${status}): ${reason}`,
    );
  }
  return new BeaconError(
    {code: "BEACON_BAD_RESPONSE", url: t.label, route, status, reason},
    `beacon node ${t.label} answered ${route} with HTTP ${status}: ${reason}`,
  );
}

async function requestJson<T>(
  t: BeaconTarget,
  route: string,
  schema: z.ZodType<T>,
  init: RequestInit,
  timeoutMs = BEACON_TIMEOUT_MS,
): Promise<T> {
  const res = await send(t, route, init, timeoutMs);
  const text = await readText(t, route, res);
  if (!res.ok) throw httpError(t, route, res.status, text.slice(0, 200));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BeaconError(
      {code: "BEACON_BAD_RESPONSE", url: t.label, route, status: res.status, reason: "not JSON"},
      `beacon node ${t.label} answered ${route} with something that is not JSON: ${JSON.stringify(text.slice(0, 80))}`,
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "(root)";
    throw new BeaconError(
      {code: "BEACON_BAD_RESPONSE", url: t.label, route, status: res.status, reason: `${field}: ${issue?.message}`},
      `beacon node ${t.label} answered ${route} with an invalid body: ${field}: ${issue?.message}`,
    );
  }
  return parsed.data;
}
