import type {ApiClient} from "@lodestar/api";
import type {BeaconConfig} from "@lodestar/config";
import type {ForkName} from "@lodestar/params";
import type {Slot} from "@lodestar/types";
import {errorMessage} from "../../../util/errors.js";
import {httpError} from "./beaconHttp.js";
import type {BeaconEndpoint} from "./beaconEndpoint.js";
import {scrubUrl} from "./beaconUrl.js";
import {BeaconError} from "./errors.js";
import {itemsRefused} from "./submitFailures.js";

/** Lodestar's typed client answers with this shape; `value()` throws on a bad body. */
export type ApiResponse<T> = {ok: boolean; status: number; value(): T; error(): unknown};
/** A submission's answer, whose error body (read once by the client, then cached) names the refused items. */
export type BatchResponse = ApiResponse<unknown> & {errorBody(): Promise<string>};

/**
 * Calls through Lodestar's typed client, one per beacon node, and the checks on what comes back: a network failure,
 * a refusal or an unreadable body becomes a typed error naming the node (by its redacted label) and the route.
 */
export class BeaconCalls {
  constructor(
    private readonly config: BeaconConfig,
    private readonly apis: Map<BeaconEndpoint, ApiClient>,
  ) {}

  api(e: BeaconEndpoint): ApiClient {
    return this.apis.get(e) as ApiClient;
  }

  async call<T>(e: BeaconEndpoint, route: string, f: () => Promise<ApiResponse<T>>): Promise<T> {
    return this.value(e, route, await this.request(e, route, f));
  }

  /** A batch submission of `count` items through the client: a refusal keeps the failures of its items. */
  async callBatch(e: BeaconEndpoint, route: string, count: number, f: () => Promise<BatchResponse>): Promise<void> {
    const res = await this.request(e, route, f);
    if (!res.ok)
      throw (
        itemsRefused(e, route, res.status, await res.errorBody(), count) ??
        httpError(e, route, res.status, scrubUrl(e, errorMessage(res.error())))
      );
  }

  /** Network failures and timeouts become typed errors naming the node (by label: the library quotes the real URL). */
  async request<R>(e: BeaconEndpoint, route: string, f: () => Promise<R>): Promise<R> {
    try {
      return await f();
    } catch (err) {
      const reason = scrubUrl(e, errorMessage(err));
      throw new BeaconError(
        {code: "BEACON_UNREACHABLE", urls: [e.label], reason},
        `beacon node ${e.label} call ${route} failed: ${reason}`,
      );
    }
  }

  value<T>(e: BeaconEndpoint, route: string, res: ApiResponse<T>): T {
    if (!res.ok) throw httpError(e, route, res.status, scrubUrl(e, errorMessage(res.error())));
    try {
      return res.value();
    } catch (err) {
      throw new BeaconError(
        {code: "BEACON_BAD_RESPONSE", url: e.label, route, reason: errorMessage(err)},
        `beacon node ${e.label} answered ${route} with an invalid body: ${errorMessage(err)}`,
      );
    }
  }

  /** The fork an answer is in: its `version` if it names one (and it must be the slot's), else the slot's. */
  forkOf(e: BeaconEndpoint, route: string, slot: Slot, version: string | undefined): ForkName {
    const fork = this.config.getForkName(slot);
    if (version !== undefined && version !== fork) {
      throw new BeaconError(
        {code: "BEACON_BAD_RESPONSE", url: e.label, route, reason: `${version} answer, expected ${fork}`},
        `beacon node ${e.label} answered ${route} for a ${fork} slot in the ${version} format`,
      );
    }
    return fork;
  }
}

/** An SSZ type's reading of a body that passed its envelope check; what it refuses is a typed error naming the node. */
export function readSsz<T>(e: BeaconEndpoint, route: string, what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new BeaconError(
      {code: "BEACON_BAD_RESPONSE", url: e.label, route, reason: errorMessage(err)},
      `beacon node ${e.label} answered ${route} with an unreadable ${what}: ${errorMessage(err)}`,
    );
  }
}
