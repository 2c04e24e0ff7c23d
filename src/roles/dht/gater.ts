import type {ConnectionGater, PeerId} from "@libp2p/interface";

/**
 * Only the lock's operators may connect, in either direction. Checked on the encrypted connection (noise
 * has proven the remote holds its peer id's key) and again before dialling, so no stream, identify or DHT
 * message from a non-member ever reaches a handler.
 */
export function clusterGater(members: ReadonlySet<string>, onRefused: (peer: string, direction: "inbound" | "outbound") => void): ConnectionGater {
  const deny = (peer: PeerId, direction: "inbound" | "outbound"): boolean => {
    if (members.has(peer.toString())) return false;
    onRefused(peer.toString(), direction);
    return true;
  };
  return {
    denyDialPeer: (peer) => deny(peer, "outbound"),
    denyInboundEncryptedConnection: (peer) => deny(peer, "inbound"),
    denyOutboundEncryptedConnection: (peer) => deny(peer, "outbound"),
    // Cluster nodes live on private networks and loopback: libp2p's default would refuse those addresses.
    denyDialMultiaddr: () => false,
  };
}
