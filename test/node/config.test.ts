import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {ConfigError, DEFAULT_STORAGE_BUDGET, parseBytes, resolveRunOptions} from "../../src/node/config.js";

const ok = {lock: "l.json", nodeDir: "n", dataDir: "/tmp/d", beaconNode: "http://127.0.0.1:5052,http://10.0.0.2:5052"};

describe("run options", () => {
  it("resolves defaults and lists of beacon nodes", () => {
    const o = resolveRunOptions(ok);
    assert.deepEqual(o.beaconNodes, ["http://127.0.0.1:5052", "http://10.0.0.2:5052"]);
    assert.equal(o.ipc, "/tmp/d/r3dv.sock");
    assert.equal(o.storageBudget, DEFAULT_STORAGE_BUDGET);
    assert.equal(o.http, undefined);
    assert.deepEqual(resolveRunOptions({...ok, http: "127.0.0.1:0"}).http, {host: "127.0.0.1", port: 0});
  });

  it("turns doppelganger protection on and the builder API off unless told otherwise", () => {
    assert.equal(resolveRunOptions(ok).doppelganger, true);
    assert.equal(resolveRunOptions(ok).builder, false);
    assert.equal(resolveRunOptions({...ok, builder: " ON"}).builder, true);
    assert.equal(resolveRunOptions({...ok, doppelganger: "off"}).doppelganger, false);
    assert.equal(resolveRunOptions(ok).builderBoostFactor, 100n);
    assert.equal(resolveRunOptions({...ok, builderBoostFactor: "0"}).builderBoostFactor, 0n);
    assert.throws(
      () => resolveRunOptions({...ok, builderBoostFactor: "1.5"}),
      /--builder-boost-factor \(or R3DV_BUILDER_BOOST_FACTOR\): expected a whole percent/,
    );
    assert.throws(
      () => resolveRunOptions({...ok, builder: "yes"}),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.type.flag === "--builder" &&
        e.type.env === "R3DV_BUILDER" &&
        /expected on or off, got "yes"/.test(e.message),
    );
  });

  it("runs block verification only when asked, and says which modes exist", () => {
    assert.equal(resolveRunOptions(ok).verify, "off");
    assert.equal(resolveRunOptions({...ok, verify: " Advisory"}).verify, "advisory");
    assert.equal(resolveRunOptions({...ok, verify: "enforce"}).verify, "enforce");
    assert.throws(
      () => resolveRunOptions({...ok, verify: "on"}),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.type.flag === "--verify" &&
        e.type.env === "R3DV_VERIFY" &&
        /expected enforce or advisory or off, got "on"/.test(e.message),
    );
  });

  it("has every node recover every attestation unless told designated, and refuses other modes", () => {
    assert.equal(resolveRunOptions(ok).recoverers, "all");
    assert.equal(resolveRunOptions({...ok, recoverers: " Designated"}).recoverers, "designated");
    assert.throws(
      () => resolveRunOptions({...ok, recoverers: "2"}),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.type.flag === "--recoverers" &&
        e.type.env === "R3DV_RECOVERERS" &&
        /expected all or designated, got "2"/.test(e.message),
    );
  });

  it("takes execution endpoints for payload re-execution, each an http(s) URL", () => {
    assert.deepEqual(resolveRunOptions(ok).executionRpc, []);
    assert.deepEqual(resolveRunOptions({...ok, executionRpc: "http://127.0.0.1:8545, http://el2:8545"}).executionRpc, [
      "http://127.0.0.1:8545",
      "http://el2:8545",
    ]);
    assert.throws(
      () => resolveRunOptions({...ok, executionRpc: "ws://127.0.0.1:8546"}),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.type.flag === "--execution-rpc" &&
        e.type.env === "R3DV_EXECUTION_RPC" &&
        /expected an http or https URL/.test(e.message),
    );
  });

  it("parses sizes", () => {
    assert.equal(parseBytes("4096"), 4096);
    assert.equal(parseBytes("10G"), 10 * 2 ** 30);
    assert.equal(parseBytes("512MiB"), 512 * 2 ** 20);
    assert.equal(parseBytes("ten"), undefined);
  });

  it("names the flag and the variable in every error", () => {
    assert.throws(
      () => resolveRunOptions({...ok, replication: "0"}),
      (e: unknown) => e instanceof ConfigError && e.type.flag === "--replication" && e.type.env === "R3DV_REPLICATION",
    );
    assert.throws(() => resolveRunOptions({...ok, beaconNode: "ftp://x"}), /expected an http or https URL/);
  });
});
