import assert from "node:assert/strict";
import {type IncomingMessage, type Server, type ServerResponse, createServer} from "node:http";
import {after, before, describe, it} from "node:test";
import {chainConfigToJson} from "@lodestar/config";
import {mainnetChainConfig} from "@lodestar/config/configs";
import {ACTIVE_PRESET, SLOTS_PER_EPOCH} from "@lodestar/params";
import {ssz} from "@lodestar/types";
import {BeaconNode} from "../../../../src/roles/validator/beacon/beaconNode.js";
import type {SignedAttestationInput} from "../../../../src/roles/validator/beacon/types.js";
import {BeaconError} from "../../../../src/roles/validator/beacon/errors.js";

/** How the server words a batch with bad items: the Beacon API's indexed failures, or Lodestar 1.5.1's list without indices. */
type Dialect = "indexed" | "lodestar-1.5.1" | "takes-all";

/** The first signature byte says what the server makes of an attestation: the pool had it, or its signature is wrong. */
const KNOWN = 0xaa;
const INVALID = 0xbb;
const VALID = 0x01;

/**
 * A real HTTP server in the shape of a beacon node: genesis, spec (phase0 or Electra from genesis), the health
 * probe, and the v1 and v2 attestation pools, which judge each posted attestation by its signature's first byte.
 */
class PoolServer {
  dialect: Dialect = "indexed";
  posts: number[] = [];
  private server: Server | null = null;
  url = "";

  constructor(private readonly electra: boolean) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server?.address() as {port: number}).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private spec(): Record<string, string> {
    const forks = this.electra
      ? {
          ALTAIR_FORK_EPOCH: 0,
          BELLATRIX_FORK_EPOCH: 0,
          CAPELLA_FORK_EPOCH: 0,
          DENEB_FORK_EPOCH: 0,
          ELECTRA_FORK_EPOCH: 0,
        }
      : {};
    return {
      ...chainConfigToJson({...mainnetChainConfig, ...forks}),
      PRESET_BASE: ACTIVE_PRESET,
      SLOTS_PER_EPOCH: String(SLOTS_PER_EPOCH),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const json = (code: number, body: unknown) =>
      void res.writeHead(code, {"content-type": "application/json"}).end(JSON.stringify(body));
    if (req.url === "/eth/v1/beacon/genesis") {
      return json(200, {
        data: {
          genesis_time: String(Math.floor(Date.now() / 1000)),
          genesis_validators_root: "0x" + "00".repeat(32),
          genesis_fork_version: "0x00000000",
        },
      });
    }
    if (req.url === "/eth/v1/config/spec") return json(200, {data: this.spec()});
    if (req.url === "/eth/v1/node/syncing")
      return json(200, {data: {head_slot: "0", sync_distance: "0", is_syncing: false, is_optimistic: false}});
    if (req.method !== "POST" || !req.url?.endsWith("/beacon/pool/attestations"))
      return json(404, {code: 404, message: "no such route"});
    const items = JSON.parse(Buffer.concat(chunks).toString()) as {signature: string}[];
    this.posts.push(items.length);
    const failures = items
      .map((a, index) => ({index, byte: parseInt(a.signature.slice(2, 4), 16)}))
      .filter((f) => f.byte !== VALID)
      .map((f) => ({
        index: f.index,
        message:
          f.byte === KNOWN ? "ATTESTATION_ERROR_ATTESTATION_ALREADY_KNOWN" : "ATTESTATION_ERROR_INVALID_SIGNATURE",
      }));
    if (failures.length === 0 || this.dialect === "takes-all") return void res.writeHead(200).end();
    if (this.dialect === "indexed")
      return json(400, {code: 400, message: "some attestations failed validation", failures});
    // Lodestar 1.5.1: one error as itself, several in one message; 500 either way, and never an index.
    const message =
      failures.length === 1
        ? failures[0]?.message
        : `Multiple errors on submitPoolAttestations\n${failures.map((f) => f.message).join("\n")}`;
    json(500, {statusCode: 500, error: "Internal Server Error", message});
  }
}

function attestation(signatureByte: number, validatorIndex: number): SignedAttestationInput {
  const data = ssz.phase0.AttestationData.defaultValue();
  const signature = new Uint8Array(96).fill(signatureByte);
  return {
    validatorIndex,
    committeeIndex: 0,
    committeeLength: 8,
    validatorCommitteeIndex: validatorIndex,
    data,
    signature,
  };
}

for (const electra of [false, true]) {
  describe(`attestation batches judged item by item (${electra ? "Electra, v2 pool through the client" : "phase0, v1 pool"})`, () => {
    const server = new PoolServer(electra);
    let bn: BeaconNode;
    before(async () => {
      await server.start();
      bn = await BeaconNode.connect([server.url]);
      assert.equal(bn.isElectra(0), electra);
    });
    after(async () => {
      bn?.close();
      await server.stop();
    });

    // Lodestar 1.5.1 predates Electra: its dialect only meets the v1 pool.
    for (const dialect of (electra ? ["indexed"] : ["indexed", "lodestar-1.5.1"]) as Dialect[]) {
      it(`${dialect}: one already known item does not hide the invalid one; the valid and known ones are taken`, async () => {
        server.dialect = dialect;
        server.posts = [];
        const refused = await bn.submitAttestations([
          attestation(KNOWN, 1),
          attestation(INVALID, 2),
          attestation(VALID, 3),
        ]);
        assert.deepEqual(
          [...refused.keys()],
          [1],
          `only the invalid item failed; posts ${JSON.stringify(server.posts)}`,
        );
        const e = refused.get(1);
        assert.ok(e instanceof BeaconError && e.code === "BEACON_REFUSED", String(e));
        assert.match(e.message, /INVALID_SIGNATURE/);
        assert.doesNotMatch(e.message, /ALREADY_KNOWN/, "the item's own message, not the batch's");
        // Without indices, the node is asked again item by item, on the failure path only.
        assert.deepEqual(server.posts, dialect === "indexed" ? [3] : [3, 1, 1, 1]);
      });
    }

    it("an item one beacon node refuses is taken when another node takes it", async () => {
      const other = new PoolServer(electra);
      await other.start();
      const both = await BeaconNode.connect([server.url, other.url]);
      try {
        server.dialect = "indexed";
        other.dialect = "takes-all";
        assert.equal((await both.submitAttestations([attestation(INVALID, 1), attestation(VALID, 2)])).size, 0);
        other.dialect = "indexed";
        assert.deepEqual(
          [...(await both.submitAttestations([attestation(INVALID, 1), attestation(VALID, 2)])).keys()],
          [0],
          "refused by both",
        );
      } finally {
        both.close();
        await other.stop();
      }
    });

    it("a batch of valid and already known items fails nothing, in one request", async () => {
      server.dialect = "indexed";
      server.posts = [];
      const refused = await bn.submitAttestations([attestation(VALID, 1), attestation(KNOWN, 2)]);
      assert.equal(refused.size, 0);
      assert.deepEqual(server.posts, [2]);
    });
  });
}
