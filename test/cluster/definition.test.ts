import assert from "node:assert/strict";
import {describe, it, before} from "node:test";
import {generateKeyPair} from "@libp2p/crypto/keys";
import {peerIdFromPrivateKey} from "@libp2p/peer-id";
import {
  DefinitionError,
  buildDefinition,
  computeDefinitionHash,
  parseDefinition,
  type DefinitionOptions,
} from "../../src/cluster/definition.js";
import {generateIdentity} from "../../src/cluster/identity.js";

const ADDR = "0x" + "ab".repeat(20);
// EIP-55 example address with one letter's case flipped: a typo the checksum must catch.
const BAD_CHECKSUM = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";

describe("cluster definition", () => {
  let peers: string[];
  before(async () => {
    peers = await Promise.all(Array.from({length: 7}, async () => (await generateIdentity()).peerId));
  });
  const ops = (n: number) => peers.slice(0, n).map((p, k) => `${p}@10.0.0.${k + 1}:9000`);
  const opts = (o: Partial<DefinitionOptions> = {}): DefinitionOptions => ({
    operators: ops(4),
    validators: 2,
    network: "hoodi",
    withdrawalAddress: ADDR,
    ...o,
  });

  it("defaults the threshold to ceil(2n/3), the fee recipient to the withdrawal address, and hashes the content", () => {
    const {definition: d4} = buildDefinition(opts());
    assert.equal(d4.threshold, 3);
    assert.equal(buildDefinition(opts({operators: ops(7)})).definition.threshold, 5);
    assert.equal(d4.fee_recipient, ADDR);
    assert.equal(d4.compounding, false);
    assert.equal(d4.gas_limit, 60_000_000, "builder registrations' gas limit: the clients' default");
    assert.equal(buildDefinition(opts({gasLimit: 45_000_000})).definition.gas_limit, 45_000_000);
    assert.deepEqual(
      d4.operators.map((o) => [o.index, o.peer_id, o.address]),
      peers.slice(0, 4).map((p, k) => [k + 1, p, `10.0.0.${k + 1}:9000`]),
    );
    assert.equal(d4.definition_hash, computeDefinitionHash(d4));
    assert.deepEqual(parseDefinition(JSON.stringify(d4), "def.json"), d4);
  });

  const refusals: {name: string; o: () => Partial<DefinitionOptions>; option: string; reason: RegExp}[] = [
    {name: "minority threshold", o: () => ({threshold: 2}), option: "--threshold", reason: /not a majority/},
    {name: "threshold above n", o: () => ({threshold: 5}), option: "--threshold", reason: /more than the 4 nodes/},
    {name: "two operators", o: () => ({operators: ops(2)}), option: "--operators", reason: /at least 3 nodes/},
    {
      name: "a peer id twice",
      o: () => ({operators: [...ops(3), `${peers[0]}@10.0.0.9:9000`]}),
      option: "--operators",
      reason: /appears twice/,
    },
    {
      name: "an address twice",
      o: () => ({operators: [...ops(3), `${peers[5]}@10.0.0.1:9000`]}),
      option: "--operators",
      reason: /10\.0\.0\.1:9000 appears twice/,
    },
    {name: "no @", o: () => ({operators: [...ops(3), "10.0.0.9:9000"]}), option: "--operators", reason: /PEERID@/},
    {
      name: "not a peer id",
      o: () => ({operators: [...ops(3), "nope@10.0.0.9:9000"]}),
      option: "--operators",
      reason: /not a libp2p peer id/,
    },
    {
      name: "port out of range",
      o: () => ({operators: [...ops(3), `${peers[5]}@10.0.0.9:70000`]}),
      option: "--operators",
      reason: /port 70000 is out of range/,
    },
    {name: "no validators", o: () => ({validators: 0}), option: "--validators", reason: /at least one/},
    {name: "unknown network", o: () => ({network: "goerli"}), option: "--network", reason: /unknown network/},
    {
      name: "withdrawal checksum",
      o: () => ({withdrawalAddress: BAD_CHECKSUM}),
      option: "--withdrawal-address",
      reason: /EIP-55/,
    },
    {name: "fee recipient", o: () => ({feeRecipient: "0x1234"}), option: "--fee-recipient", reason: /20-byte/},
    {name: "a gas limit in millions", o: () => ({gasLimit: 60}), option: "--gas-limit", reason: /60M gas/},
  ];
  for (const r of refusals) {
    it(`refuses ${r.name}, naming ${r.option}`, () => {
      assert.throws(
        () => buildDefinition(opts(r.o())),
        (e: unknown) =>
          e instanceof DefinitionError &&
          e.type.code === "DEFINITION_BAD_OPTION" &&
          e.type.option === r.option &&
          r.reason.test(e.message),
      );
    });
  }

  it("refuses a non-Ed25519 operator: it could never sign the lock", async () => {
    const secp = peerIdFromPrivateKey(await generateKeyPair("secp256k1")).toString();
    assert.throws(
      () => buildDefinition(opts({operators: [...ops(3), `${secp}@10.0.0.9:9000`]})),
      /is a secp256k1 peer id; r3dv needs Ed25519/,
    );
  });

  it("refuses a definition edited after it was hashed, and one whose structure is wrong, naming the field", () => {
    const {definition} = buildDefinition(opts());
    const edits: [string, (d: Record<string, unknown>) => void, string][] = [
      ["validators", (d) => (d.validators = 3), "DEFINITION_HASH_MISMATCH"],
      ["compounding", (d) => (d.compounding = true), "DEFINITION_HASH_MISMATCH"],
      ["fee_recipient", (d) => (d.fee_recipient = "0x" + "cd".repeat(20)), "DEFINITION_HASH_MISMATCH"],
      ["threshold 4", (d) => (d.threshold = 4), "DEFINITION_HASH_MISMATCH"],
      ["threshold 2", (d) => (d.threshold = 2), "DEFINITION_MALFORMED"],
      ["network", (d) => (d.network = "mainnet"), "DEFINITION_MALFORMED"],
      ["operators order", (d) => (d.operators as unknown[]).reverse(), "DEFINITION_MALFORMED"],
      ["unknown field", (d) => (d.extra = 1), "DEFINITION_MALFORMED"],
    ];
    for (const [what, edit, code] of edits) {
      const copy = structuredClone(definition) as unknown as Record<string, unknown>;
      edit(copy);
      assert.throws(
        () => parseDefinition(JSON.stringify(copy), "def.json"),
        (e: unknown) => e instanceof DefinitionError && e.type.code === code,
        what,
      );
    }
  });
});
