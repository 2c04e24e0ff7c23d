import {DOMAIN_APPLICATION_BUILDER} from "@lodestar/params";
import {type CachedBeaconStateAllForks, ZERO_HASH, computeDomain} from "@lodestar/state-transition";
import {type bellatrix, ssz} from "@lodestar/types";
import {toHex} from "../hotpath/bytes.js";
import {verifySignature} from "./signatures.js";

/** How far ahead of the devnet's clock a registration's timestamp may be: mev-boost-relay's limit (10 s). */
const MAX_FUTURE_SECONDS = 10;

/**
 * What a relay keeps of the builder registrations a beacon node passes on: per validator key, the newest one
 * whose signature verifies under the builder domain (genesis fork version, zero genesis validators root). An
 * older one is ignored, as relays do: that rule is why a cluster's timestamp matters (registrationService.ts).
 */
export class BuilderRegistrations {
  private readonly byPubkey = new Map<string, bellatrix.SignedValidatorRegistrationV1>();

  /** Keeps `r` if it is valid and the newest of its key; throws (via `refuse`) what is wrong with it otherwise. */
  add(
    state: CachedBeaconStateAllForks,
    r: bellatrix.SignedValidatorRegistrationV1,
    nowSec: number,
    refuse: (reason: string) => never,
  ): void {
    const pubkey = toHex(r.message.pubkey);
    const index = state.epochCtx.getValidatorIndex(r.message.pubkey);
    if (index === null) refuse(`validator ${pubkey} is not in the devnet's registry`);
    if (r.message.timestamp > nowSec + MAX_FUTURE_SECONDS)
      refuse(`timestamp ${r.message.timestamp} is more than ${MAX_FUTURE_SECONDS} s ahead of the clock (${nowSec})`);
    const domain = computeDomain(DOMAIN_APPLICATION_BUILDER, state.config.GENESIS_FORK_VERSION, ZERO_HASH);
    verifySignature(state, index, ssz.bellatrix.ValidatorRegistrationV1, r.message, domain, r.signature, refuse);
    const kept = this.byPubkey.get(pubkey);
    if (!kept || kept.message.timestamp <= r.message.timestamp) this.byPubkey.set(pubkey, r);
  }

  /** The registration kept for a validator key (0x hex), if any. */
  get(pubkey: string): bellatrix.SignedValidatorRegistrationV1 | undefined {
    return this.byPubkey.get(pubkey.toLowerCase());
  }

  /** Every kept registration, as the builder API's JSON spells it. */
  list(): {pubkey: string; fee_recipient: string; gas_limit: string; timestamp: string}[] {
    return [...this.byPubkey.values()].map(({message: m}) => ({
      pubkey: toHex(m.pubkey),
      fee_recipient: toHex(m.feeRecipient),
      gas_limit: String(m.gasLimit),
      timestamp: String(m.timestamp),
    }));
  }

  get size(): number {
    return this.byPubkey.size;
  }
}
