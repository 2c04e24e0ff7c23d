import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import {buildDefinition} from "../../../src/cluster/definition.js";
import {DkgNetwork} from "../../../src/cluster/dkg/dkgNetwork.js";
import type {Envelope} from "../../../src/cluster/dkg/wire.js";
import {createLogger} from "../../../src/util/logger.js";
import {dkgIdentities} from "../../helpers/dkgNet.js";

/** The DKG's transport on loopback: two real libp2p hosts of one definition. */
describe("DkgNetwork: a message counts as sent once its receiver has taken it", () => {
  const received: Envelope[] = [];
  let a: DkgNetwork;
  let b: DkgNetwork;
  let c: DkgNetwork;
  const envelope = (reason: string): Envelope => ({
    attempt: {session: new Uint8Array(16).fill(7), startedAt: 1},
    message: {kind: "abort", from: 1, reason},
  });

  before(async () => {
    const ids = await dkgIdentities(3);
    const base = 33_000 + Math.floor(Math.random() * 2000);
    const definition = buildDefinition({
      operators: ids.map((id, k) => `${id.peerId}@127.0.0.1:${base + k}`),
      validators: 1,
      network: "devnet",
      withdrawalAddress: "0x" + "ab".repeat(20),
    }).definition;
    const logger = createLogger("error");
    const net = (k: number, onMessage: (e: Envelope) => void) =>
      new DkgNetwork({definition, self: k + 1, privateKey: ids[k]!.privateKey, logger, onMessage});
    a = net(0, () => {});
    b = net(1, (e) => received.push(e));
    // Operator 3 never starts: nothing listens on its address.
    c = net(2, () => {});
    await Promise.all([a.start(), b.start()]);
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it("resolves a send only after the peer delivered it, so a sender that stops at once loses nothing", async () => {
    await a.send(2, envelope("first"));
    // Checked before any other turn of the event loop: the message is in, not only handed to the transport.
    assert.deepEqual(
      received.map((e) => e.message.kind === "abort" && e.message.reason),
      ["first"],
    );
  });

  it("delivers a retried message once (its acknowledgement was lost) and acknowledges it again", async () => {
    await a.send(2, envelope("retried"));
    await a.send(2, envelope("retried"));
    await a.send(2, envelope("next"));
    assert.deepEqual(
      received.map((e) => e.message.kind === "abort" && e.message.reason),
      ["first", "retried", "next"],
    );
  });

  it("rejects a send to an operator that is not there, for the caller to retry", async () => {
    await assert.rejects(a.send(3, envelope("nobody")));
    assert.equal(c.connected().length, 0);
  });
});
