import {randomBytes} from "node:crypto";
import type {PrivateKey} from "@libp2p/interface";
import {type DkgAuthenticator, identityAuthenticator} from "../../src/cluster/dkg/authenticator.js";
import {DkgCeremony} from "../../src/cluster/dkg/ceremony.js";
import type {DkgMessage} from "../../src/cluster/dkg/messages.js";
import type {CeremonyRoles} from "../../src/cluster/dkg/roles.js";
import {DkgError, type DkgResult} from "../../src/cluster/dkg/outcome.js";
import {generateIdentity} from "../../src/cluster/identity.js";
import {initHerumi} from "../../src/hotpath/herumi.js";

/**
 * An in-memory network for DKG ceremonies: every operator's ceremony in one process, real Ed25519 identities and
 * real BLS, rounds advanced in lock step once every message of the round is delivered. `intercept` plays a
 * faulty operator or network: it sees each copy of a message on its way from `from` to `to` and returns what to
 * deliver instead (null drops it). It may re-sign with `auths`, as a cheating dealer would sign its own lies.
 */
export interface DkgNetOptions {
  operators: number;
  threshold: number;
  validators: number;
  /** Per operator (1-based index - 1); default one shared random hash. */
  definitionHashes?: Uint8Array[];
  intercept?: (message: DkgMessage, to: number, net: DkgNet) => DkgMessage | null;
  /** The operators' identities (default: new ones); a definition names their peer ids. */
  identities?: {privateKey: PrivateKey; peerId: string}[];
  /** The hash every operator holds unless `definitionHashes` says otherwise (default: random). */
  definitionHash?: Uint8Array;
  /** Each participant's roles (1-based participant): a reshare; default a DKG. `threshold` is then the new one. */
  roles?: (self: number) => CeremonyRoles;
}

export interface DkgNet {
  auths: DkgAuthenticator[];
  definitionHash: Uint8Array;
  /** Per operator: its keys, or the error that stopped its ceremony. */
  outcomes: (DkgResult | DkgError)[];
  /**
   * The ceremony's time were each operator on its own machine with an instant network: per round, the busiest
   * operator's time receiving that round's messages and closing it, summed over the rounds.
   */
  criticalPathMs: number;
}

export function dkgIdentities(n: number): Promise<{privateKey: PrivateKey; peerId: string}[]> {
  return Promise.all(Array.from({length: n}, () => generateIdentity()));
}

export async function runDkgNet(opts: DkgNetOptions): Promise<DkgNet> {
  await initHerumi();
  const n = opts.operators;
  const ids = opts.identities ?? (await dkgIdentities(n));
  const peerIds = ids.map((id) => id.peerId);
  const auths = ids.map((id) => identityAuthenticator(id.privateKey, peerIds));
  const definitionHash = opts.definitionHash ?? new Uint8Array(randomBytes(32));
  const net: DkgNet = {auths, definitionHash, outcomes: [], criticalPathMs: 0};
  const ceremonies = auths.map(
    (auth, k) =>
      new DkgCeremony({
        definitionHash: opts.definitionHashes?.[k] ?? definitionHash,
        operators: n,
        threshold: opts.threshold,
        validators: opts.validators,
        self: k + 1,
        auth,
        random: (bytes) => new Uint8Array(randomBytes(bytes)),
        roles: opts.roles?.(k + 1),
      }),
  );
  const outcomes: (DkgResult | DkgError | undefined)[] = new Array(n).fill(undefined);
  let busy = new Array<number>(n).fill(0);
  const timed = <T>(k: number, f: () => T): T => {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      busy[k] = (busy[k] ?? 0) + performance.now() - t0;
    }
  };
  let outgoing = ceremonies.map((c, k) => timed(k, () => c.start()));
  for (;;) {
    outgoing.forEach((out, k) => {
      for (const {to, message} of out) {
        for (const dest of to === undefined ? ceremonies.keys() : [to - 1]) {
          if (dest === k || outcomes[dest] !== undefined) continue;
          const delivered = opts.intercept ? opts.intercept(message, dest + 1, net) : message;
          if (delivered !== null) timed(dest, () => ceremonies[dest]?.receive(delivered));
        }
      }
    });
    if (outcomes.every((o) => o !== undefined)) break;
    outgoing = ceremonies.map((c, k) => {
      if (outcomes[k] !== undefined) return [];
      try {
        const next = timed(k, () => c.advance());
        if (Array.isArray(next)) return next;
        outcomes[k] = next;
      } catch (e) {
        if (!(e instanceof DkgError)) throw e;
        outcomes[k] = e;
      }
      return [];
    });
    net.criticalPathMs += Math.max(...busy);
    busy = new Array<number>(n).fill(0);
  }
  net.outcomes = outcomes as (DkgResult | DkgError)[];
  return net;
}
