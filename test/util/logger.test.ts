import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {R3dvError} from "../../src/util/errors.js";
import {createLogger} from "../../src/util/logger.js";

function capture(): {lines: () => Record<string, unknown>[]; stream: {write: (s: string) => void}} {
  const out: string[] = [];
  return {
    stream: {write: (s: string) => void out.push(s)},
    lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("logger", () => {
  it("writes (message, context, error) as one JSON line with the error's code and context", () => {
    const c = capture();
    const log = createLogger("info", "test", c.stream);
    log.warn("peer refused", {peer: "12D3Koo"}, new R3dvError({code: "X_FAILED", slot: 7}, "x failed"));
    const [line] = c.lines();
    assert.equal(line?.msg, "peer refused");
    assert.equal(line?.peer, "12D3Koo");
    assert.equal(line?.module, "test");
    const err = line?.err as {code: string; context: unknown; message: string};
    assert.equal(err.code, "X_FAILED");
    assert.equal(err.message, "x failed");
    assert.deepEqual(err.context, {code: "X_FAILED", slot: 7});
  });

  it("redacts secrets wherever a careless context puts them", () => {
    const c = capture();
    const log = createLogger("debug", undefined, c.stream).child({node: 1});
    log.info("keystore", {password: "hunter2", keystore: {secret: "0xdead", password: "hunter3"}, privateKey: "k"});
    const text = JSON.stringify(c.lines());
    for (const s of ["hunter2", "hunter3", "0xdead", '"k"']) assert.ok(!text.includes(s), `${s} leaked: ${text}`);
    assert.ok(text.includes("[redacted]"));
  });

  it("drops lines below the level", () => {
    const c = capture();
    createLogger("warn", undefined, c.stream).info("quiet");
    assert.equal(c.lines().length, 0);
  });
});
