import type {ChainForkConfig} from "@lodestar/config";
import {beaconBlockToBlinded, signedBlindedBlockToFull} from "@lodestar/state-transition";
import {ForkName} from "@lodestar/params";
import {type electra, ssz} from "@lodestar/types";
import {toHex} from "../hotpath/bytes.js";
import type {ProducedBlock} from "./blockProducer.js";
import {reject} from "./errors.js";
import {BUILDER_ADDRESS} from "./execution/txStream.js";

/**
 * What the devnet's builder bids for a block: 0.1 ETH, far above the devnet's local blocks (a few gwei of priority
 * fees), so that with the default builder_boost_factor of 100 its block wins whenever it bids.
 */
export const DEFAULT_BID_WEI = 10n ** 17n;

/** A payee for the wrong-payee fault: a bid that pays neither the registration's fee recipient nor the builder. */
const WRONG_PAYEE = new Uint8Array(20).fill(0xbd);

/**
 * The devnet's block builder, behind its beacon node as MEV-boost and a relay are behind a real one: for a validator
 * whose registration it holds it builds a block with its own address as the payload's fee recipient and a last
 * transaction paying its bid to the registered fee recipient, hands out only the blinded block, and reveals the
 * payload when the signed blinded block comes back (keeping it for the slot, as a relay does). A relay's check is
 * here too: a bid whose payment does not go to the registered fee recipient is not offered.
 */
export class DevnetBuilder {
  /** Full blocks whose blinded version was handed out, by their (shared) hash tree root. */
  private readonly built = new Map<string, {slot: number; block: electra.BeaconBlock}>();
  /**
   * The slots the builder bid for, revealed, withheld and refused a bid in: what a run reports of the builder path.
   * Slots, not requests: every node of a cluster asks for the slot's block and publishes the agreed one.
   */
  private readonly slots = {
    bids: new Set<number>(),
    revealed: new Set<number>(),
    withheld: new Set<number>(),
    refusedPayee: new Set<number>(),
  };

  get counts(): {bids: number; revealed: number; withheld: number; refusedPayee: number} {
    const {bids, revealed, withheld, refusedPayee} = this.slots;
    return {bids: bids.size, revealed: revealed.size, withheld: withheld.size, refusedPayee: refusedPayee.size};
  }

  constructor(
    private readonly config: ChainForkConfig,
    readonly bidWei: bigint = DEFAULT_BID_WEI,
  ) {}

  /** The builder's payment (what `produce` builds with): the bid to `payee`, or a wrong payee under that fault. */
  payment(
    payee: Uint8Array,
    wrongPayee: boolean,
  ): {feeRecipient: Uint8Array; payment: {to: Uint8Array; value: bigint}} {
    return {feeRecipient: BUILDER_ADDRESS.bytes, payment: {to: wrongPayee ? WRONG_PAYEE : payee, value: this.bidWei}};
  }

  /**
   * The blinded block of a built block, if it pays `payee` (the relay's check of the bid); undefined when it
   * does not, so the beacon node proposes its own block.
   */
  offer(produced: ProducedBlock, payee: Uint8Array, paid: Uint8Array): electra.BlindedBeaconBlock | undefined {
    if (toHex(paid) !== toHex(payee)) {
      this.slots.refusedPayee.add(produced.block.slot);
      return undefined;
    }
    const root = toHex(ssz.electra.BeaconBlock.hashTreeRoot(produced.block));
    this.built.set(root, {slot: produced.block.slot, block: produced.block});
    for (const [k, b] of this.built) if (b.slot < produced.block.slot - 2) this.built.delete(k);
    this.slots.bids.add(produced.block.slot);
    return beaconBlockToBlinded(this.config, produced.block) as electra.BlindedBeaconBlock;
  }

  /** The full signed block of a signed blinded one this builder built; refuses an unknown one or a withheld payload. */
  reveal(signed: electra.SignedBlindedBeaconBlock, withhold: boolean): electra.SignedBeaconBlock {
    const root = toHex(ssz.electra.BlindedBeaconBlock.hashTreeRoot(signed.message));
    const built = this.built.get(root);
    if (!built) reject(`no block of this builder has the blinded block root ${root}`);
    if (withhold) {
      this.slots.withheld.add(signed.message.slot);
      reject(`the builder withheld the payload of slot ${signed.message.slot} (fault builder_withhold)`);
    }
    this.slots.revealed.add(signed.message.slot);
    return signedBlindedBlockToFull(
      ForkName.electra,
      signed,
      built.block.body.executionPayload,
    ) as electra.SignedBeaconBlock;
  }
}
