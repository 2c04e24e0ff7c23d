import {DOMAIN_BEACON_ATTESTER, DOMAIN_BEACON_PROPOSER, DOMAIN_RANDAO, DOMAIN_SYNC_COMMITTEE} from "@lodestar/params";
import {type CachedBeaconStateAllForks, computeEpochAtSlot, computeSigningRoot} from "@lodestar/state-transition";
import {ssz, type electra} from "@lodestar/types";
import type {Logger} from "../util/logger.js";
import {errorMessage} from "../util/errors.js";
import type {BlockEntry} from "./blockStore.js";
import type {DevChain} from "./chain.js";
import {type Fault, type PayloadFault, invalidHead} from "./faults.js";
import {produceBlock} from "./blockProducer.js";
import type {SecretKeyCache} from "./keys.js";

function graffiti(text: string): Uint8Array {
  const g = new Uint8Array(32);
  new TextEncoder().encodeInto(text, g);
  return g;
}
/** Graffiti of blocks the devnet proposes itself, and of the competing block of a fork fault: tests tell them apart. */
const OWN_GRAFFITI = graffiti("r3dv devnet");
export const FORK_GRAFFITI = graffiti("r3dv devnet fork");
/** Graffiti of the invalid_head fault's block: a report can tell it from every valid block. */
export const INVALID_GRAFFITI = graffiti("r3dv devnet invalid");

/**
 * The validators the devnet runs itself (`--own`), like `lodestar dev --startValidators`: it proposes at slot
 * start and attests and signs sync messages at one third of the slot, through the same checks as any client.
 */
export class OwnValidators {
  constructor(
    private readonly chain: DevChain,
    private readonly keys: SecretKeyCache,
    private readonly own: Set<number>,
    private readonly logger: Logger,
    private readonly feeRecipients: Map<number, Uint8Array>,
  ) {}

  has(index: number): boolean {
    return this.own.has(index);
  }

  async propose(slot: number, fault: Fault | undefined): Promise<void> {
    if (this.own.size === 0 || fault?.kind === "skip") return;
    const chain = this.chain;
    const parent = chain.head();
    const proposer = chain.stateAt(parent, slot).epochCtx.getBeaconProposer(slot);
    if (!this.own.has(proposer)) return;
    try {
      await this.proposeOn(slot, parent, OWN_GRAFFITI, fault?.kind === "bad_state_root" ? "state_root" : undefined);
      if (fault?.kind === "fork") await this.proposeOn(slot, parent, FORK_GRAFFITI);
      const invalid = invalidHead(fault);
      if (invalid) await this.proposeInvalid(slot, parent, invalid.payload);
    } catch (e) {
      this.logger.warn("Own proposal failed", {slot, proposer}, errorMessage(e));
    }
  }

  /**
   * Builds, signs (with the proposer's interop key) and imports a block for `slot` on `parent`. Also used for
   * the fork fault's competing block when a client proposed the first one: interop keys are public.
   */
  async proposeOn(
    slot: number,
    parent: BlockEntry,
    graffiti: Uint8Array,
    badPayload?: PayloadFault,
  ): Promise<BlockEntry> {
    const {signed} = await this.signedBlock(slot, parent, graffiti, badPayload);
    return this.chain.importBlock(signed);
  }

  /**
   * The invalid_head fault's block: a sibling of the slot's block on `parent`, signed by the slot's proposer
   * (so its signatures verify) but carrying a wrong state root, imported unchecked as the head. With `payload`
   * the beacon block is right and its payload is what is wrong: a wrong execution state root
   * (invalid_payload_head) or a transaction that cannot run (invalid_tx_head).
   */
  async proposeInvalid(slot: number, parent: BlockEntry, payload?: PayloadFault): Promise<BlockEntry> {
    const wrongRoot = (block: electra.BeaconBlock): void => {
      block.stateRoot = new Uint8Array(32).fill(0xbd);
    };
    const {signed, postState} = await this.signedBlock(
      slot,
      parent,
      INVALID_GRAFFITI,
      payload,
      payload ? undefined : wrongRoot,
    );
    return this.chain.importUnchecked(signed, postState);
  }

  private async signedBlock(
    slot: number,
    parent: BlockEntry,
    graffiti: Uint8Array,
    badPayload: PayloadFault | undefined,
    tamper?: (block: electra.BeaconBlock) => void,
  ): Promise<{signed: electra.SignedBeaconBlock; postState: CachedBeaconStateAllForks}> {
    const chain = this.chain;
    const state = chain.stateAt(parent, slot);
    const proposer = state.epochCtx.getBeaconProposer(slot);
    const epoch = computeEpochAtSlot(slot);
    const randao = this.keys.sign(
      proposer,
      computeSigningRoot(ssz.Epoch, epoch, chain.config.getDomain(state.slot, DOMAIN_RANDAO, slot)),
    );
    const {block, postState} = await produceBlock(chain, slot, randao, graffiti, this.feeRecipients, {
      parent,
      ...(badPayload ? {badPayload} : {}),
    });
    tamper?.(block);
    const signingRoot = computeSigningRoot(
      ssz.electra.BeaconBlock,
      block,
      chain.config.getDomain(state.slot, DOMAIN_BEACON_PROPOSER, slot),
    );
    return {signed: {message: block, signature: this.keys.sign(proposer, signingRoot)}, postState};
  }

  attest(slot: number): void {
    if (this.own.size === 0) return;
    const chain = this.chain;
    const epoch = computeEpochAtSlot(slot);
    const state = chain.dutyState(epoch);
    const committees = state.epochCtx.getCommitteeCountPerSlot(epoch);
    for (let committeeIndex = 0; committeeIndex < committees; committeeIndex++) {
      const committee = state.epochCtx.getBeaconCommittee(slot, committeeIndex);
      if (!committee.some((v) => this.own.has(v))) continue;
      const data = chain.attestationData(slot, committeeIndex);
      const root = computeSigningRoot(
        ssz.phase0.AttestationData,
        data,
        chain.config.getDomain(state.slot, DOMAIN_BEACON_ATTESTER, slot),
      );
      for (const attesterIndex of committee) {
        if (!this.own.has(attesterIndex)) continue;
        try {
          chain.addSingleAttestation({
            committeeIndex,
            attesterIndex,
            data,
            signature: this.keys.sign(attesterIndex, root),
          });
        } catch (e) {
          this.logger.warn("Own attestation refused", {slot, attesterIndex}, errorMessage(e));
        }
      }
    }
    const sync = state.epochCtx.getIndexedSyncCommittee(slot);
    const headRoot = chain.head().root;
    const syncRoot = computeSigningRoot(
      ssz.Root,
      headRoot,
      chain.config.getDomain(state.slot, DOMAIN_SYNC_COMMITTEE, slot),
    );
    for (const validatorIndex of sync.validatorIndexMap.keys()) {
      if (!this.own.has(validatorIndex)) continue;
      try {
        chain.addSyncCommitteeMessage({
          slot,
          beaconBlockRoot: headRoot,
          validatorIndex,
          signature: this.keys.sign(validatorIndex, syncRoot),
        });
      } catch (e) {
        this.logger.warn("Own sync message refused", {slot, validatorIndex}, errorMessage(e));
      }
    }
  }
}
