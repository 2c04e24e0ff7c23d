import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {peerIdFromString} from "@libp2p/peer-id";
import {generateIdentity} from "../../../src/cluster/identity.js";
import {dialAddresses} from "../../../src/roles/dht/dhtRole.js";
import {OperatorAddresses, hostOf, normaliseIp} from "../../../src/roles/dht/operatorAddresses.js";

function resolver(answers: Record<string, string[] | Error>): (host: string) => Promise<string[]> {
  return async (host) => {
    const a = answers[host];
    if (a === undefined || a instanceof Error) throw a ?? new Error(`ENOTFOUND ${host}`);
    return a;
  };
}

describe("operator addresses (who may reach the handshake)", () => {
  it("lets only the operators' addresses in once every address is known", async () => {
    const addrs = new OperatorAddresses(
      ["10.0.0.1", "node-b.example", "2001:db8::7"],
      () => assert.fail("all resolve"),
      resolver({"node-b.example": ["10.0.0.2"]}),
    );
    await addrs.start();
    addrs.stop();
    assert.equal(addrs.complete, true);
    for (const ip of ["10.0.0.1", "10.0.0.2", "::ffff:10.0.0.2", "2001:DB8::7"])
      assert.equal(addrs.mayConnect(ip), true, ip);
    for (const ip of ["10.0.0.3", "127.0.0.1"]) assert.equal(addrs.mayConnect(ip), false, ip);
  });

  it("lets every address reach the handshake while an operator's name has never resolved, and says which", async () => {
    const unresolved: string[][] = [];
    const addrs = new OperatorAddresses(["10.0.0.1", "gone.example"], (hosts) => unresolved.push(hosts), resolver({}));
    await addrs.start();
    addrs.stop();
    assert.equal(addrs.complete, false);
    assert.equal(addrs.mayConnect("192.0.2.9"), true);
    assert.deepEqual(unresolved, [["gone.example"]]);
  });

  it("keeps a name's last addresses when a later lookup fails (a DNS hiccup locks no member out)", async () => {
    const answers: Record<string, string[] | Error> = {"node-b.example": ["10.0.0.2"]};
    const addrs = new OperatorAddresses(["node-b.example"], () => assert.fail("resolved once"), resolver(answers));
    await addrs.start();
    addrs.stop();
    answers["node-b.example"] = new Error("SERVFAIL");
    await (addrs as unknown as {refresh(): Promise<void>}).refresh();
    assert.equal(addrs.complete, true);
    assert.equal(addrs.mayConnect("10.0.0.2"), true);
    assert.equal(addrs.mayConnect("10.0.0.3"), false);
  });

  it("parses hosts and IPs as the lock and sockets spell them", () => {
    assert.equal(hostOf("node-b.example:9000"), "node-b.example");
    assert.equal(hostOf("[2001:db8::7]:9000"), "2001:db8::7");
    assert.equal(normaliseIp("::FFFF:10.1.2.3"), "10.1.2.3");
  });
});

describe("dial addresses", () => {
  it("always dial the lock's address first, and the DHT's answer only beside it", async () => {
    const peerId = peerIdFromString((await generateIdentity()).peerId);
    assert.deepEqual(dialAddresses({peerId, address: "10.0.0.1:9000"}).map(String), [
      `/ip4/10.0.0.1/tcp/9000/p2p/${peerId}`,
    ]);
    assert.deepEqual(dialAddresses({peerId, address: "10.0.0.1:9000", dhtAddress: "10.9.9.9:1"}).map(String), [
      `/ip4/10.0.0.1/tcp/9000/p2p/${peerId}`,
      `/ip4/10.9.9.9/tcp/1/p2p/${peerId}`,
    ]);
  });
});
