import "../../src/devnet/preset.js";
import assert from "node:assert/strict";
import {before, describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import type {bellatrix} from "@lodestar/types";
import {validatorMethods} from "../../src/devnet/api/validatorApi.js";
import {Devnet} from "../../src/devnet/devnet.js";
import {toHex} from "../../src/hotpath/bytes.js";
import {interopSecretKey} from "../../src/hotpath/interop.js";
import {validatorRegistrationSigningRoot} from "../../src/roles/validator/signing/signingRoots.js";
import {createLogger} from "../../src/util/logger.js";

const key = (i: number) => SecretKey.fromBytes(interopSecretKey(i));
const FEE = new Uint8Array(20).fill(0xfe);

describe("devnet builder registrations (register_validator, kept as a relay keeps them)", () => {
  let devnet: Devnet;
  let register: (registrations: bellatrix.SignedValidatorRegistrationV1[]) => Promise<void>;
  const now = () => Math.floor(Date.now() / 1000);
  const signed = (
    validator: number,
    timestamp: number,
    signer = validator,
  ): bellatrix.SignedValidatorRegistrationV1 => {
    const message = {
      feeRecipient: FEE,
      gasLimit: 60_000_000,
      timestamp,
      pubkey: key(validator).toPublicKey().toBytes(),
    };
    const root = validatorRegistrationSigningRoot(devnet.chain.config, message);
    return {message, signature: key(signer).sign(root).toBytes()};
  };
  const kept = (validator: number) => devnet.registrations.get(toHex(key(validator).toPublicKey().toBytes()));

  before(async () => {
    devnet = await Devnet.create({
      validators: 8,
      own: new Set(),
      slotMs: 1000,
      fork: "electra",
      genesisDelaySec: 0,
      logger: createLogger("error", "test"),
    });
    register = (registrations) => validatorMethods(devnet).registerValidator({registrations});
  });

  it("keeps a registration signed under the builder domain by the validator's key", async () => {
    await register([signed(1, now() - 5)]);
    assert.equal(kept(1)?.message.timestamp, now() - 5);
    assert.deepEqual(kept(1)?.message.feeRecipient, FEE);
  });

  it("keeps the newest of a key: an older one is ignored", async () => {
    const t = now();
    await register([signed(2, t - 60)]);
    await register([signed(2, t - 10)]);
    await register([signed(2, t - 30)]);
    assert.equal(kept(2)?.message.timestamp, t - 10);
  });

  it("refuses a wrong signature, an unknown key and a future timestamp, naming each, and keeps the good ones of the batch", async () => {
    const stranger = SecretKey.fromKeygen(new Uint8Array(32).fill(7));
    const unknown = signed(3, now());
    unknown.message.pubkey = stranger.toPublicKey().toBytes();
    unknown.signature = stranger.sign(validatorRegistrationSigningRoot(devnet.chain.config, unknown.message)).toBytes();
    await assert.rejects(
      register([signed(3, now(), 4), unknown, signed(5, now() + 60), signed(6, now())]),
      (e: Error) =>
        /index 0: invalid signature of validator 3/.test(e.message) &&
        /index 1: validator 0x[0-9a-f]{96} is not in the devnet's registry/.test(e.message) &&
        /index 2: timestamp \d+ is more than 10 s ahead/.test(e.message) &&
        !/index 3/.test(e.message),
    );
    assert.equal(kept(3), undefined);
    assert.equal(kept(5), undefined);
    assert.ok(kept(6), "the valid registration of the batch was kept");
  });
});
