import assert from "node:assert/strict";
import {after, before, describe, it} from "node:test";
import type {ConnectionGater, PeerInfo} from "@libp2p/interface";
import {multiaddr} from "@multiformats/multiaddr";
import {join} from "node:path";
import {IDENTITY_FILE, loadIdentity} from "../../../src/cluster/identity.js";
import {loadLock} from "../../../src/cluster/lock.js";
import type {ClusterLock} from "../../../src/cluster/lockSchema.js";
import {DhtRole, lockAddressToMultiaddr} from "../../../src/roles/dht/dhtRole.js";
import {createLogger} from "../../../src/util/logger.js";
import {type TestCluster, freePorts, makeCluster, waitFor} from "../../helpers/cluster.js";

describe("a member lying about another's address in the DHT (real libp2p hosts)", {timeout: 120_000}, () => {
  let c: TestCluster;
  let lock: ClusterLock;
  const roles: DhtRole[] = [];

  async function startRole(self: number, listen: string): Promise<DhtRole> {
    const {privateKey} = await loadIdentity(join(c.nodeDir(self), IDENTITY_FILE));
    const role = new DhtRole({lock, self, privateKey, listen, logger: createLogger("error")});
    await role.start();
    roles.push(role);
    return role;
  }

  before(async () => {
    c = await makeCluster(3);
    lock = await loadLock(c.lock);
  });

  after(async () => {
    for (const r of roles) await r.stop().catch(() => undefined);
    await c?.cleanup();
  });

  it("keeps dialling the lock's address, so the peer is reached when it comes back there", async () => {
    // Node 1 listens where nobody looks for it, so only its own dials can connect it to node 2.
    const a = await startRole(1, "/ip4/127.0.0.1/tcp/0");
    await startRole(3, lockAddressToMultiaddr(lock.operators[2]?.address as string).toString());
    const b = a.byIndex(2);
    assert.ok(b);
    // What a lying member answers when node 1 asks the DHT where node 2 went: an address where nothing listens.
    const [deadPort] = await freePorts(1);
    let lookups = 0;
    // libp2p also dials the addresses its peer store holds for a peer: the liar's answer empties it first, as
    // when the liar is the only member node 1 heard of node 2 from (an honest member's DHT answers may refill it).
    a.libp2p.peerRouting.findPeer = async (peerId): Promise<PeerInfo> => {
      lookups++;
      await a.libp2p.peerStore.delete(peerId);
      return {id: peerId, multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${deadPort}`)]};
    };
    await waitFor("node 1 to connect to node 3 and ask the DHT for node 2", async () => lookups > 0, 30_000);
    const nodeTwo = await startRole(2, lockAddressToMultiaddr(b.address).toString());
    // Node 1 sits behind a firewall that node 2 cannot dial through (libp2p checks the gater on every dial,
    // the DHT's included), so only node 1's own dials can connect the two.
    const gater = (nodeTwo.libp2p as unknown as {components: {connectionGater: ConnectionGater}}).components
      .connectionGater;
    gater.denyDialPeer = (peer) => peer.equals(a.libp2p.peerId);
    // Node 1's redial backoff is at most 5 s: two of them and it must have dialled the lock's address again.
    await waitFor("node 1 to reach node 2 at its lock address", async () => b.connected, 15_000);
    assert.equal(
      a.connectionTo(b)?.remoteAddr.toString(),
      lockAddressToMultiaddr(b.address, b.peerId.toString()).toString(),
    );
  });
});
