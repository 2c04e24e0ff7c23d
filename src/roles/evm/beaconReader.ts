import {type ApiClient, WireFormat, getClient, routes} from "@lodestar/api";
import type {ChainForkConfig} from "@lodestar/config";
import {toHex} from "../../hotpath/bytes.js";
import {errorMessage} from "../../util/errors.js";
import {EvmError} from "./errors.js";

/**
 * A block is one request of a few hundred KB at most (mainnet blocks average ~100 KB): 10 s is a slow link's
 * worst case and still lets a verification that started at a slot's start finish within a mainnet slot.
 */
const BLOCK_TIMEOUT_MS = 10_000;
/** A mainnet state is ~250 MB of SSZ: minutes on a slow link. Lodestar's own client allows 5 minutes. */
const STATE_TIMEOUT_MS = 5 * 60_000;
/** A header is a few hundred bytes; the poll that asks for it runs every slot, so a stuck one must end within it. */
const HEADER_TIMEOUT_MS = 2_000;

/**
 * The beacon node reads the chain follower needs, through @lodestar/api's typed client: blocks and states as SSZ
 * (the bytes the verifier hashes, no JSON round trip), the head's root, and the event stream.
 */
export class BeaconReader {
  private readonly api: ApiClient;
  /** Ends every request in flight at close: a state download may otherwise hold a stopping node for minutes. */
  private readonly abort = new AbortController();

  /** How errors and logs name the node: its URL without credentials. */
  readonly label: string;

  constructor(
    readonly url: string,
    config: ChainForkConfig,
    label?: string,
  ) {
    this.label = label ?? url;
    this.api = getClient({baseUrl: url, globalInit: {signal: this.abort.signal}}, {config});
  }

  close(): void {
    this.abort.abort();
  }

  /** The SignedBeaconBlock `id` names, as SSZ; null when the node does not have it (404). */
  async block(id: string): Promise<Uint8Array | null> {
    const route = `/eth/v2/beacon/blocks/${id}`;
    const res = await this.call(route, () =>
      this.api.beacon.getBlockV2({blockId: id}, {responseWireFormat: WireFormat.ssz, timeoutMs: BLOCK_TIMEOUT_MS}),
    );
    return res.status === 404 ? null : this.sszOf(res, route);
  }

  /** The BeaconState `id` names (`finalized`, `genesis`, a slot or a state root), as SSZ. */
  async state(id: string): Promise<Uint8Array> {
    const route = `/eth/v2/debug/beacon/states/${id}`;
    const res = await this.call(route, () =>
      this.api.debug.getStateV2({stateId: id}, {responseWireFormat: WireFormat.ssz, timeoutMs: STATE_TIMEOUT_MS}),
    );
    return this.sszOf(res, route);
  }

  /** The root of the node's head block. */
  async headRoot(): Promise<string> {
    const route = "/eth/v1/beacon/headers/head";
    const res = await this.call(route, () =>
      this.api.beacon.getBlockHeader({blockId: "head"}, {timeoutMs: HEADER_TIMEOUT_MS}),
    );
    if (!res.ok) throw this.failed(route, res.error()?.message ?? "", res.status);
    return toHex(res.value().root);
  }

  /**
   * Calls `onBlock` with the root of every block the node announces (`block`: imported, `head`: became the head)
   * until `signal` aborts. The stream reconnects by itself; `onError` hears of each failure.
   */
  async subscribe(signal: AbortSignal, onBlock: (root: string) => void, onError: (e: Error) => void): Promise<void> {
    await this.api.events.eventstream({
      topics: [routes.events.EventType.block, routes.events.EventType.head],
      signal,
      onEvent: (e) => {
        if (e.type === routes.events.EventType.block || e.type === routes.events.EventType.head)
          onBlock(e.message.block);
      },
      onError,
    });
  }

  private async call<R>(route: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (e) {
      throw this.failed(route, errorMessage(e));
    }
  }

  private sszOf(
    res: {ok: boolean; status: number; error(): Error | null; ssz(): Uint8Array},
    route: string,
  ): Uint8Array {
    if (!res.ok) throw this.failed(route, res.error()?.message ?? "", res.status);
    try {
      return res.ssz();
    } catch (e) {
      throw this.failed(route, `no SSZ body: ${errorMessage(e)}`, res.status);
    }
  }

  private failed(route: string, reason: string, status?: number): EvmError {
    return new EvmError(
      {code: "EVM_FETCH_FAILED", url: this.label, route, status, reason},
      `${route} on ${this.label} failed${status ? ` (${status})` : ""}: ${reason}`,
    );
  }
}
