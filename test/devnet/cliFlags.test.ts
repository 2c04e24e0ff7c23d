import assert from "node:assert/strict";
import {mkdtemp, rm, writeFile} from "node:fs/promises";
import {createServer, type AddressInfo} from "node:net";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, describe, it} from "node:test";
import {runCli} from "./helpers.js";

describe("devnet-beacon flags", () => {
  it("refuses --own outside the validator range, naming the range", async () => {
    const r = await runCli(["devnet-beacon", "--validators", "16", "--own", "0..16", "--port", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--own: validator 16 is outside the genesis validators 0\.\.15/);
  });

  it("refuses a malformed --own", async () => {
    const r = await runCli(["devnet-beacon", "--validators", "16", "--own", "3-5", "--port", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--own: expected a\.\.b/);
  });

  it("refuses a --slot-ms too short for a block", async () => {
    const r = await runCli(["devnet-beacon", "--validators", "16", "--slot-ms", "200", "--port", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--slot-ms: 200 ms is too short/);
  });

  it("refuses a --slot-ms that is not whole seconds", async () => {
    const r = await runCli(["devnet-beacon", "--validators", "16", "--slot-ms", "1500", "--port", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a multiple of 1000/);
  });

  it("refuses a --deposits file that is no deposit-data.json, saying so", async () => {
    const dir = await mkdtemp(join(tmpdir(), "r3dv-deposits-"));
    try {
      const file = join(dir, "deposit-data.json");
      await writeFile(file, JSON.stringify([{pubkey: "0x00"}]));
      const r = await runCli(["devnet-beacon", "--validators", "16", "--deposits", file, "--port", "0"]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /--deposits .*deposit-data\.json: not a deposit-data\.json/);
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });

  describe("port in use", () => {
    const blocker = createServer();
    after(() => new Promise<void>((r) => blocker.close(() => r())));
    it("says the port is taken and what to do", async () => {
      await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
      const port = (blocker.address() as AddressInfo).port;
      const r = await runCli(["devnet-beacon", "--validators", "16", "--port", String(port)]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
    });
  });
});
