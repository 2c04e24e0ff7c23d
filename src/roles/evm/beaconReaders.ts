import type {ChainForkConfig} from "@lodestar/config";
import {errorMessage} from "../../util/errors.js";
import {BeaconReader} from "./beaconReader.js";
import {EvmError} from "./errors.js";

/**
 * Every beacon node the chain follower reads from. A block is content-addressed (the follower checks that the
 * bytes hash to the root it asked for) and the anchor state is checked by the thread that decodes it, so any node
 * that answers will do: the one that answered last is asked first, the others in turn when it fails. A node down
 * costs one failed request per block until another answers, not the node's verification.
 */
export class BeaconReaders {
  readonly all: BeaconReader[];
  private preferred = 0;

  constructor(beacons: {url: string; label?: string}[], config: ChainForkConfig) {
    if (beacons.length === 0)
      throw new EvmError(
        {code: "EVM_NO_BEACON_NODE"},
        "the chain follower needs at least one beacon node: pass --beacon-node URL",
      );
    this.all = beacons.map((b) => new BeaconReader(b.url, config, b.label));
  }

  close(): void {
    for (const r of this.all) r.close();
  }

  /** The block `id` names, as SSZ, from the first node that has it; null when every node answered 404. */
  async block(id: string): Promise<Uint8Array | null> {
    return this.first(`/eth/v2/beacon/blocks/${id}`, (r) => r.block(id));
  }

  /** The state `id` names, as SSZ, from the first node that serves it. */
  async state(id: string): Promise<Uint8Array> {
    const route = `/eth/v2/debug/beacon/states/${id}`;
    const state = await this.first(route, (r) => r.state(id));
    if (!state)
      throw new EvmError(
        {code: "EVM_BAD_ANCHOR", reason: `${route}: no beacon node serves it`},
        `${route}: no beacon node serves it`,
      );
    return state;
  }

  private async first<T>(route: string, ask: (r: BeaconReader) => Promise<T | null>): Promise<T | null> {
    const failures: string[] = [];
    let notFound = 0;
    for (let k = 0; k < this.all.length; k++) {
      const i = (this.preferred + k) % this.all.length;
      const reader = this.all[i] as BeaconReader;
      try {
        const answer = await ask(reader);
        if (answer === null) {
          notFound++;
          continue;
        }
        this.preferred = i;
        return answer;
      } catch (e) {
        failures.push(errorMessage(e));
      }
    }
    if (failures.length === 0 && notFound > 0) return null;
    throw new EvmError(
      {code: "EVM_FETCH_FAILED", url: this.all.map((r) => r.label).join(","), route, reason: failures.join("; ")},
      failures.length === 1 && notFound === 0
        ? (failures[0] as string)
        : `${route} failed on every beacon node: ${failures.join("; ")}${notFound ? `; ${notFound} had no such block` : ""}`,
    );
  }
}
