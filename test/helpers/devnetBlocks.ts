import {DOMAIN_BEACON_PROPOSER, DOMAIN_RANDAO} from "@lodestar/params";
import {computeSigningRoot} from "@lodestar/state-transition";
import {ssz, type electra} from "@lodestar/types";
import {produceBlock} from "../../src/devnet/blockProducer.js";
import {Devnet} from "../../src/devnet/devnet.js";
import {createLogger} from "../../src/util/logger.js";

/**
 * An in-process devnet (every validator its own) driven by a hand-moved clock through `slots` slots of
 * proposals and attestations, and a way to build a fully signed block for the next slot, which a test may then
 * tamper with and sign again (the interop keys are known). Import src/devnet/preset.js first.
 */
export async function devnetWithBlocks(validators: number, slots: number, slotMs = 2000) {
  let nowMs = 0;
  const devnet = await Devnet.create({
    validators,
    own: new Set(Array.from({length: validators}, (_, i) => i)),
    slotMs,
    fork: "electra",
    genesisDelaySec: 0,
    logger: createLogger("error", "test"),
    now: () => nowMs,
  });
  const chain = devnet.chain;
  for (let slot = 1; slot <= slots; slot++) {
    nowMs = chain.slotStartMs(slot);
    await devnet.own.propose(slot, undefined);
    nowMs = chain.slotStartMs(slot) + slotMs / 3;
    devnet.own.attest(slot);
  }
  /** The canonical chain's signed blocks, slot 1 first. */
  const blocks = (): electra.SignedBeaconBlock[] =>
    [...chain.blocks.ancestors(chain.head())]
      .filter((e) => e.slot > 0)
      .reverse()
      .map((e) => e.signedBlock as electra.SignedBeaconBlock);
  /** Signs `message` as `signer` (by default the slot's proposer) over the proposer domain. */
  const sign = (message: electra.BeaconBlock, signer = message.proposerIndex): electra.SignedBeaconBlock => ({
    message,
    signature: devnet.keys.sign(
      signer,
      computeSigningRoot(
        ssz.electra.BeaconBlock,
        message,
        chain.config.getDomain(message.slot, DOMAIN_BEACON_PROPOSER, message.slot),
      ),
    ),
  });
  /**
   * A fresh copy of `message` to tamper with: Lodestar's SSZ types cache a block's root on the object, and an
   * object spread would carry the stale root over to the altered copy (its signature would then sign the original).
   */
  const copy = (message: electra.BeaconBlock): electra.BeaconBlock =>
    ssz.electra.BeaconBlock.deserialize(ssz.electra.BeaconBlock.serialize(message));
  /** `index`'s RANDAO reveal for the epoch of `slot`. */
  const randaoReveal = (index: number, slot: number): Uint8Array =>
    devnet.keys.sign(
      index,
      computeSigningRoot(ssz.Epoch, Math.floor(slot / 8), chain.config.getDomain(slot, DOMAIN_RANDAO, slot)),
    );
  /** A valid block for the slot after the head, built on the head and not imported. */
  const nextBlock = async (): Promise<electra.BeaconBlock> => {
    const slot = chain.head().slot + 1;
    nowMs = chain.slotStartMs(slot);
    const proposer = chain.stateAt(chain.head(), slot).epochCtx.getBeaconProposer(slot);
    return (await produceBlock(chain, slot, randaoReveal(proposer, slot), new Uint8Array(32), devnet.feeRecipients))
      .block;
  };
  const genesisState = (): Uint8Array => (chain.genesisBlock.postState as {serialize(): Uint8Array}).serialize();
  return {devnet, chain, blocks, sign, nextBlock, copy, randaoReveal, genesisState};
}

export const serializeBlock = (b: electra.SignedBeaconBlock): Uint8Array => ssz.electra.SignedBeaconBlock.serialize(b);
