import assert from "node:assert/strict";
import {setTimeout as sleep} from "node:timers/promises";
import {describe, it} from "node:test";
import type {ClusterTransport} from "../../../../src/roles/validator/clusterTransport.js";
import {QbftDriver} from "../../../../src/roles/validator/consensus/driver.js";
import {fakeCrypto} from "./sim.js";

describe("QBFT driver", () => {
  it("after stop, starts no instance and sends nothing: a duty finishing its fetch during a stop cannot keep the process alive", async () => {
    const published: string[] = [];
    const transport: ClusterTransport = {
      self: 1,
      publish: (kind, slot) => published.push(`${kind}/${slot}`),
      subscribe: () => () => undefined,
    };
    const made: string[] = [];
    // Rounds of 20 ms with no peer answering: a running instance changes round (and publishes) every 20 ms.
    const driver = new QbftDriver(transport, {crypto: fakeCrypto(1), n: 4, self: 1}, (id) => {
      made.push(id);
      const start = Date.now();
      return {slot: 100, leader: () => 1, roundDeadline: (r) => start + 20 * r, isValid: () => true};
    });
    void driver.run("attester/100", new Uint8Array([1])).catch(() => undefined);
    await sleep(70);
    assert.ok(published.length >= 3, `a running instance sends its proposal and round changes: ${published.length}`);
    driver.stop();
    const before = published.length;
    await assert.rejects(driver.run("attester/101", new Uint8Array([1])), /node is stopping/);
    assert.deepEqual(made, ["attester/100"], "no instance is made after stop");
    await sleep(100);
    assert.equal(published.length, before, "nothing is sent after stop: the running instance's timer is gone");
  });
});
