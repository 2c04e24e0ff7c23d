import {randomBytes} from "node:crypto";
import type {PrivateKey} from "@libp2p/interface";
import {mkdir, mkdtemp, readdir, rename, rm} from "node:fs/promises";
import {join, resolve} from "node:path";
import {fromHex} from "../../hotpath/bytes.js";
import {initHerumi} from "../../hotpath/herumi.js";
import {R3dvError} from "../../util/errors.js";
import {DEPOSIT_FILE, KEYS_DIR, LOCK_FILE, shareDescription, writeShareKeystores} from "../createCluster.js";
import type {ClusterDefinition} from "../definitionSchema.js";
import {writePublicFile} from "../fsSecure.js";
import {IDENTITY_FILE, loadIdentity, writeIdentity} from "../identity.js";
import type {Kdf} from "../keystores.js";
import {identityAuthenticator} from "./authenticator.js";
import {DkgCeremony} from "./ceremony.js";
import {type DkgOutput, LockRound} from "./lockRound.js";
import type {DkgResult} from "./outcome.js";

import {type CeremonyLinkOptions, runCeremony} from "./runCeremony.js";

export type RunDkgErrorType =
  | {code: "DKG_BAD_OPTION"; option: string; reason: string}
  | {code: "DKG_NOT_AN_OPERATOR"; peerId: string}
  | {code: "DKG_NODE_DIR_NOT_EMPTY"; nodeDir: string; found: string[]};
export class RunDkgError extends R3dvError<RunDkgErrorType> {}

/** What every ceremony command takes besides its definition and node dir. */
export interface CeremonyRunOptions extends CeremonyLinkOptions {
  kdf: Kdf;
}

export interface RunDkgOptions extends CeremonyRunOptions {
  definition: ClusterDefinition;
  nodeDir: string;
}

/** What a DKG leaves in the node dir (besides identity.key): never overwritten. */
export const OUTPUTS = [LOCK_FILE, DEPOSIT_FILE, KEYS_DIR];

/**
 * Runs this operator's side of the DKG over libp2p and writes what create-cluster gives an operator:
 * cluster-lock.json (byte-identical everywhere, every operator's signature), validator_keys/ (this operator's
 * shares) and deposit-data.json. Nothing is written unless the whole ceremony succeeds.
 */
export async function runDkg(opts: RunDkgOptions): Promise<{output: DkgOutput; result: DkgResult; self: number}> {
  const {definition} = opts;
  const nodeDir = resolve(opts.nodeDir);
  const identity = await loadIdentity(join(nodeDir, IDENTITY_FILE));
  const operator = definition.operators.find((o) => o.peer_id === identity.peerId);
  if (operator === undefined) {
    throw new RunDkgError(
      {code: "DKG_NOT_AN_OPERATOR", peerId: identity.peerId},
      `this node (${identity.peerId}) is not an operator of the definition; check --node-dir`,
    );
  }
  const self = operator.index;
  const entries = await readdir(nodeDir);
  const found = OUTPUTS.filter((f) => entries.includes(f));
  if (found.length > 0) {
    throw new RunDkgError(
      {code: "DKG_NODE_DIR_NOT_EMPTY", nodeDir, found},
      `${nodeDir} already holds ${found.join(", ")}: r3dv never overwrites keys; use a new node dir`,
    );
  }
  await initHerumi();
  const auth = identityAuthenticator(
    identity.privateKey,
    definition.operators.map((o) => o.peer_id),
  );
  const newCeremony = () =>
    new DkgCeremony({
      definitionHash: fromHex(definition.definition_hash),
      operators: definition.operators.length,
      threshold: definition.threshold,
      validators: definition.validators,
      self,
      auth,
      random: (n) => new Uint8Array(randomBytes(n)),
    });
  const {result, output} = await runCeremony({
    ...opts,
    network: definition,
    self,
    privateKey: identity.privateKey,
    newCeremony,
    lockRound: (result) => new LockRound(definition, result, self, auth),
    signers: definition.operators.map((o) => o.index),
  });
  if (output === undefined) throw new Error("every DKG operator receives keys and signs the lock");
  await writeOutput(nodeDir, output, result, self, definition, opts.kdf);
  return {output, result, self};
}

/**
 * Writes in a temp folder inside the node dir, then moves the keys, the deposits and last the lock into place:
 * a failure leaves no lock, and a node never starts without one. `identity`: written too (a reshare's new node
 * dir, so that the node there runs as the same operator).
 */
export async function writeOutput(
  nodeDir: string,
  output: DkgOutput,
  result: DkgResult,
  self: number,
  definition: ClusterDefinition,
  kdf: Kdf,
  identity?: PrivateKey,
): Promise<void> {
  await mkdir(nodeDir, {recursive: true, mode: 0o700});
  const tmp = await mkdtemp(join(nodeDir, ".dkg-partial-"));
  try {
    const files = [KEYS_DIR, DEPOSIT_FILE, LOCK_FILE];
    if (identity !== undefined) {
      await writeIdentity(join(tmp, IDENTITY_FILE), identity);
      files.unshift(IDENTITY_FILE);
    }
    await mkdir(join(tmp, KEYS_DIR), {mode: 0o700});
    const n = definition.operators.length;
    await writeShareKeystores(
      result.validators.map((v, j) => ({
        dir: join(tmp, KEYS_DIR),
        validator: j,
        secret: v.secretShare,
        description: shareDescription(self, n, definition.threshold, v.groupPubkey),
      })),
      kdf,
    );
    for (const v of result.validators) v.secretShare.fill(0);
    await writePublicFile(join(tmp, DEPOSIT_FILE), JSON.stringify(output.deposits, null, 2) + "\n");
    await writePublicFile(join(tmp, LOCK_FILE), JSON.stringify(output.lock, null, 2) + "\n");
    for (const f of files) await rename(join(tmp, f), join(nodeDir, f));
  } finally {
    await rm(tmp, {recursive: true, force: true});
  }
}
