import {SLOTS_PER_EPOCH} from "@lodestar/params";
import type {Logger} from "../../../../util/logger.js";
import type {BeaconNode} from "../../beacon/beaconNode.js";
import {BeaconError} from "../../beacon/errors.js";
import {DutyTimers} from "../../schedule/dutyClock.js";

/**
 * One round of telling the beacon nodes: `ok` when at least one accepted; `unsupported` when every node
 * answered that it does not serve the route (404/405: a node older than the merge API); `failed` otherwise.
 * `validators` is how many were prepared (validators not yet on chain have no index and wait for the next epoch).
 */
export interface PreparationResult {
  epoch: number;
  result: "ok" | "unsupported" | "failed";
  validators: number;
  detail?: string;
}

export interface ProposerPreparationOptions {
  beacon: BeaconNode;
  /** The lock's fee recipient of each validator (public key to address, both lower-case hex). */
  feeRecipients: ReadonlyMap<string, string>;
  logger: Logger;
  onResult?(r: PreparationResult): void;
}

/**
 * Tells every beacon node, at start and at each epoch start, the lock's fee recipient of each of the
 * cluster's validators (`prepare_beacon_proposer`), so the blocks they build for the cluster pay it. The Beacon
 * API keeps a preparation only until the node restarts and recommends resending it every epoch (Lodestar's
 * own validator client does); a restarted or newly healthy beacon node is told within an epoch.
 */
export class ProposerPreparation {
  private readonly timers = new DutyTimers();
  private readonly indices = new Map<string, number>();

  constructor(private readonly o: ProposerPreparationOptions) {}

  start(): void {
    const {beacon} = this.o;
    const epoch = beacon.clock.epochOf(beacon.clock.currentSlot());
    void this.prepare(epoch);
    this.every(epoch + 1);
  }

  stop(): void {
    this.timers.stop();
  }

  private every(epoch: number): void {
    this.timers.at(this.o.beacon.clock.slotStartMs(epoch * SLOTS_PER_EPOCH), () => {
      this.every(epoch + 1);
      void this.prepare(epoch);
    });
  }

  private async prepare(epoch: number): Promise<void> {
    const {beacon, feeRecipients, logger} = this.o;
    let validators = 0;
    try {
      // An index never changes once assigned: only validators still without one are looked up again.
      const missing = [...feeRecipients.keys()].filter((p) => !this.indices.has(p));
      if (missing.length > 0)
        for (const [pubkey, index] of await beacon.validatorIndices(missing)) this.indices.set(pubkey, index);
      const proposers = [...this.indices].map(([pubkey, validatorIndex]) => ({
        validatorIndex,
        feeRecipient: feeRecipients.get(pubkey) as string,
      }));
      validators = proposers.length;
      await beacon.prepareBeaconProposer(proposers);
      this.o.onResult?.({epoch, result: "ok", validators});
    } catch (e) {
      const status = e instanceof BeaconError ? (e.type as {status?: number}).status : undefined;
      const unsupported = status === 404 || status === 405;
      const detail = e instanceof Error ? e.message : String(e);
      this.o.onResult?.({epoch, result: unsupported ? "unsupported" : "failed", validators, detail});
      // A node that does not serve the route builds blocks with its own default fee recipient: honest nodes
      // refuse them (fee_recipient_mismatch), so the operator must hear of it, at every epoch it lasts.
      logger.warn("beacon nodes not told the lock's fee recipients", {epoch, validators, unsupported}, e);
    }
  }
}
