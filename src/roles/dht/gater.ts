import type {ConnectionGater, MultiaddrConnection, PeerId} from "@libp2p/interface";

export type RefusalStage = "address" | "peer_id";

/** The remote IP of a raw connection, if it has one (TCP always does). */
export function remoteIp(maConn: MultiaddrConnection): string | undefined {
  return maConn.remoteAddr.getComponents().find((c) => c.name === "ip4" || c.name === "ip6")?.value;
}

/**
 * Only the lock's operators may connect, in either direction. Inbound, in two steps: before any byte of the
 * handshake, a connection from an address that is no operator's is closed (`mayConnectFrom`), so strangers
 * cannot hold the node's pending-handshake slots or cost it a Diffie-Hellman; then, on the encrypted
 * connection (noise has proven the remote holds its peer id's key), a peer id outside the lock is refused.
 * Outbound, the peer id is checked before dialling, so no stream, identify or DHT message from a
 * non-member ever reaches a handler.
 */
export function clusterGater(
  members: ReadonlySet<string>,
  mayConnectFrom: (ip: string) => boolean,
  onRefused: (who: string, direction: "inbound" | "outbound", stage: RefusalStage) => void,
): ConnectionGater {
  const deny = (peer: PeerId, direction: "inbound" | "outbound"): boolean => {
    if (members.has(peer.toString())) return false;
    onRefused(peer.toString(), direction, "peer_id");
    return true;
  };
  return {
    denyInboundConnection: (maConn) => {
      const ip = remoteIp(maConn);
      if (ip === undefined || mayConnectFrom(ip)) return false;
      onRefused(ip, "inbound", "address");
      return true;
    },
    denyDialPeer: (peer) => deny(peer, "outbound"),
    denyInboundEncryptedConnection: (peer) => deny(peer, "inbound"),
    denyOutboundEncryptedConnection: (peer) => deny(peer, "outbound"),
    // Cluster nodes live on private networks and loopback: libp2p's default would refuse those addresses.
    denyDialMultiaddr: () => false,
  };
}
