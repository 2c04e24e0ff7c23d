import assert from "node:assert/strict";
import {type Server, type ServerResponse, createServer} from "node:http";
import {after, before, describe, it} from "node:test";
import {chainConfigToJson} from "@lodestar/config";
import {mainnetChainConfig, minimalChainConfig} from "@lodestar/config/configs";
import {ACTIVE_PRESET, SLOTS_PER_EPOCH} from "@lodestar/params";
import {z} from "zod";
import {getJson} from "../../../../src/roles/validator/beacon/beaconHttp.js";
import {BeaconNode} from "../../../../src/roles/validator/beacon/beaconNode.js";
import {beaconTarget} from "../../../../src/roles/validator/beacon/beaconUrl.js";
import {MAX_BEACON_BODY_BYTES} from "../../../../src/roles/validator/beacon/cappedFetch.js";
import {BeaconError} from "../../../../src/roles/validator/beacon/errors.js";
import {waitFor} from "../../../helpers/cluster.js";

/** What the node tries to send: twice the cap, so a client that buffers everything reads it all (and fails later). */
const HUGE = 2 * MAX_BEACON_BODY_BYTES;
/** Bytes in flight when the client stops reading: the kernel's socket buffers on loopback, a few MiB at most. */
const IN_FLIGHT_SLACK = 16 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, 0x20);

interface Sent {
  written: number;
  finished: boolean;
  closed: boolean;
}

/** Writes `total` bytes of spaces (valid JSON whitespace) with backpressure, stopping when the client hangs up. */
async function pour(res: ServerResponse, total: number, sent: Sent): Promise<void> {
  res.on("close", () => (sent.closed = true));
  while (sent.written < total && !sent.closed) {
    const ok = res.write(CHUNK);
    sent.written += CHUNK.length;
    if (!ok) await new Promise<void>((r) => (res.once("drain", r), res.once("close", r)));
  }
  if (!sent.closed) {
    res.end('{"data":{"version":"huge"}}');
    sent.finished = true;
  }
}

describe("beacon node response bodies are capped", () => {
  let server: Server;
  let url: string;
  const sent: Record<string, Sent> = {};
  before(async () => {
    server = createServer((req, res) => {
      const s: Sent = {written: 0, finished: false, closed: false};
      sent[req.url ?? ""] = s;
      if (req.url === "/chunked") return void pour(res.writeHead(200, {"content-type": "application/json"}), HUGE, s);
      if (req.url === "/declared")
        return void pour(
          res.writeHead(200, {"content-type": "application/json", "content-length": String(HUGE + 27)}),
          HUGE,
          s,
        );
      if (req.url?.startsWith("/eth/v1/validator/attestation_data"))
        return void pour(res.writeHead(200, {"content-type": "application/json"}), HUGE, s);
      const json = (body: unknown) =>
        void res.writeHead(200, {"content-type": "application/json"}).end(JSON.stringify(body));
      if (req.url === "/eth/v1/beacon/genesis")
        return json({
          data: {
            genesis_time: "1000",
            genesis_validators_root: "0x" + "11".repeat(32),
            genesis_fork_version: "0x00000000",
          },
        });
      if (req.url === "/eth/v1/config/spec") {
        const config = ACTIVE_PRESET === "minimal" ? minimalChainConfig : mainnetChainConfig;
        return json({
          data: {...chainConfigToJson(config), PRESET_BASE: ACTIVE_PRESET, SLOTS_PER_EPOCH: String(SLOTS_PER_EPOCH)},
        });
      }
      res.writeHead(200, {"content-type": "application/json"}).end('{"data":{"version":"small"}}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as {port: number}).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const schema = z.object({data: z.object({version: z.string()})});
  const overCap = (e: unknown) => {
    assert.ok(e instanceof BeaconError, String(e));
    assert.equal(e.code, "BEACON_BAD_RESPONSE", e.message);
    assert.match(e.message, new RegExp(`larger than the ${MAX_BEACON_BODY_BYTES}-byte cap; it was cut off unread`));
    return true;
  };

  it("a normal answer is read as before", async () => {
    assert.deepEqual(await getJson(beaconTarget(url), "/small", schema), {data: {version: "small"}});
  });

  it("an endless chunked body is cut off at the cap, with a clear error, and the connection closed", async () => {
    await assert.rejects(getJson(beaconTarget(url), "/chunked", schema), overCap);
    await waitFor("the node to see the client hang up", async () => sent["/chunked"]?.closed === true, 10_000, 20);
    const s = sent["/chunked"] as Sent;
    assert.equal(s.finished, false);
    assert.ok(
      s.written <= MAX_BEACON_BODY_BYTES + IN_FLIGHT_SLACK,
      `the node got ${s.written} bytes out before the client hung up`,
    );
  });

  it("the Lodestar client's routes are capped too (attestation data answered with an endless body)", async () => {
    const beacon = await BeaconNode.connect([url]);
    try {
      await assert.rejects(beacon.attestationData(5, 0), (e: unknown) => {
        assert.ok(e instanceof BeaconError, String(e));
        assert.match(e.message, new RegExp(`larger than the ${MAX_BEACON_BODY_BYTES}-byte cap`));
        return true;
      });
    } finally {
      beacon.close();
    }
    const s = Object.entries(sent).find(([k]) => k.startsWith("/eth/v1/validator/attestation_data"))?.[1] as Sent;
    await waitFor("the node to see the client hang up", async () => s.closed, 10_000, 20);
    assert.ok(
      s.written <= MAX_BEACON_BODY_BYTES + IN_FLIGHT_SLACK,
      `the node got ${s.written} bytes out before the client hung up`,
    );
  });

  it("a body declared longer than the cap is refused before it is read", async () => {
    await assert.rejects(getJson(beaconTarget(url), "/declared", schema), overCap);
    await waitFor("the node to see the client hang up", async () => sent["/declared"]?.closed === true, 10_000, 20);
    const s = sent["/declared"] as Sent;
    assert.ok(s.written <= IN_FLIGHT_SLACK, `the node got ${s.written} bytes out before the client hung up`);
  });
});
