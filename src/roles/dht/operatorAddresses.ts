import {lookup} from "node:dns/promises";
import {isIP} from "node:net";

/**
 * Re-resolve operators' DNS names every minute: an operator that moves (a new cloud address behind the same
 * name) is let in again within a minute, and a lookup a minute per operator costs nothing.
 */
export const RESOLVE_INTERVAL_MS = 60_000;

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is the operator at 10.0.0.1. */
export function normaliseIp(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return (v4?.[1] ?? ip).toLowerCase();
}

export function hostOf(address: string): string {
  const host = address.slice(0, address.lastIndexOf(":"));
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * The IP addresses the lock's operators may connect from: their lock addresses, DNS names resolved. Inbound
 * connections from any other address are refused before the encrypted handshake, so a stranger who only
 * knows the port cannot hold the node's handshake slots. That is sound only while every operator's address
 * is known: while one name does not resolve, `complete` is false and every address may still reach the
 * handshake (where the gater checks the peer id), because that operator could be anywhere.
 */
export class OperatorAddresses {
  /** Each operator host's addresses as last resolved; a host absent here has never resolved. */
  private readonly byHost = new Map<string, string[]>();
  private ips = new Set<string>();
  private unresolved: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hosts: readonly string[],
    private readonly onUnresolved: (hosts: string[], error: unknown) => void,
    private readonly resolve: (host: string) => Promise<string[]> = async (host) =>
      (await lookup(host, {all: true})).map((a) => a.address),
  ) {}

  /** Resolves once, then keeps resolving in the background. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), RESOLVE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Whether every operator's address is known, so that any other address can be refused. */
  get complete(): boolean {
    return this.unresolved.length === 0;
  }

  /** Addresses known now (IP literals always; names as last resolved). */
  known(): string[] {
    return [...this.ips];
  }

  /** Whether an inbound connection from `ip` may go on to the handshake. */
  mayConnect(ip: string): boolean {
    return !this.complete || this.ips.has(normaliseIp(ip));
  }

  private async refresh(): Promise<void> {
    let lastError: unknown;
    await Promise.all(
      [...new Set(this.hosts)].map(async (host) => {
        if (isIP(host)) return void this.byHost.set(host, [normaliseIp(host)]);
        try {
          this.byHost.set(host, (await this.resolve(host)).map(normaliseIp));
        } catch (e) {
          // A name that resolved before keeps its addresses: a DNS hiccup must not lock a member out.
          lastError = e;
        }
      }),
    );
    this.ips = new Set([...this.byHost.values()].flat());
    const unresolved = this.hosts.filter((h) => !this.byHost.has(h));
    const newlyUnresolved = unresolved.filter((h) => !this.unresolved.includes(h));
    this.unresolved = unresolved;
    if (newlyUnresolved.length > 0) this.onUnresolved(newlyUnresolved, lastError);
  }
}
