import {randomBytes} from "node:crypto";
import {mkdir, mkdtemp, readdir, rename, rm} from "node:fs/promises";
import {join, resolve} from "node:path";
import {fromHex} from "../../hotpath/bytes.js";
import {initHerumi} from "../../hotpath/herumi.js";
import {R3dvError} from "../../util/errors.js";
import type {Logger} from "../../util/logger.js";
import {DEPOSIT_FILE, KEYS_DIR, LOCK_FILE, shareDescription, writeShareKeystores} from "../createCluster.js";
import type {ClusterDefinition} from "../definitionSchema.js";
import {writePublicFile} from "../fsSecure.js";
import {IDENTITY_FILE, loadIdentity} from "../identity.js";
import type {Kdf} from "../keystores.js";
import {identityAuthenticator} from "./authenticator.js";
import {DkgCeremony, type Outgoing} from "./ceremony.js";
import {DkgSession} from "./dkgSession.js";
import {type DkgOutput, type LockMessage, LockRound} from "./lockRound.js";
import {DkgError, type DkgResult} from "./outcome.js";

/**
 * How long to wait for every operator to connect before the first round. Operators start `r3dv dkg` by hand on
 * their own machines, so minutes apart; the missing ones are logged every few seconds meanwhile.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5 * 60_000;
/**
 * A round ends as soon as every operator's message is in; this deadline only matters when one is not. It must
 * outlast the slowest honest operator's work between rounds: checking 1,000 validators' deals from 7 dealers
 * takes about 5 s of CPU on this project's machine.
 */
export const DEFAULT_ROUND_TIMEOUT_MS = 60_000;

export type RunDkgErrorType =
  | {code: "DKG_BAD_OPTION"; option: string; reason: string}
  | {code: "DKG_NOT_AN_OPERATOR"; peerId: string}
  | {code: "DKG_NODE_DIR_NOT_EMPTY"; nodeDir: string; found: string[]};
export class RunDkgError extends R3dvError<RunDkgErrorType> {}

export interface RunDkgOptions {
  definition: ClusterDefinition;
  nodeDir: string;
  listen?: string;
  kdf: Kdf;
  logger: Logger;
  connectTimeoutMs?: number;
  roundTimeoutMs?: number;
  /** Stops the ceremony (Ctrl-C): the others are told, nothing is written. */
  signal?: AbortSignal;
}

/** What a DKG leaves in the node dir (besides identity.key): never overwritten. */
const OUTPUTS = [LOCK_FILE, DEPOSIT_FILE, KEYS_DIR];

/**
 * Runs this operator's side of the DKG over libp2p and writes what create-cluster gives an operator:
 * cluster-lock.json (byte-identical everywhere, every operator's signature), validator_keys/ (this operator's
 * shares) and deposit-data.json. Nothing is written unless the whole ceremony succeeds.
 */
export async function runDkg(opts: RunDkgOptions): Promise<{output: DkgOutput; result: DkgResult; self: number}> {
  const {definition, logger} = opts;
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
  const ceremony = new DkgCeremony({
    definitionHash: fromHex(definition.definition_hash),
    operators: definition.operators.length,
    threshold: definition.threshold,
    validators: definition.validators,
    self,
    auth,
    random: (n) => new Uint8Array(randomBytes(n)),
  });
  const early: LockMessage[] = [];
  let lockRound: LockRound | undefined;
  const session = new DkgSession({
    definition,
    self,
    privateKey: identity.privateKey,
    listen: opts.listen,
    logger,
    roundTimeoutMs: opts.roundTimeoutMs ?? DEFAULT_ROUND_TIMEOUT_MS,
    signal: opts.signal,
    onMessage: (m) => {
      if (m.kind !== "lock") ceremony.receive(m);
      else if (lockRound) lockRound.receive(m);
      else early.push(m);
    },
    stopReason: () => {
      const restarted = ceremony.restarted();
      if (restarted.length === 0) return undefined;
      return new DkgError(
        {code: "DKG_PEER_RESTARTED", operators: restarted},
        `operator(s) ${restarted.join(", ")} restarted during the ceremony and lost its state: run the ceremony ` +
          `again, every operator at about the same time`,
      );
    },
  });
  const roundTimeout = opts.roundTimeoutMs ?? DEFAULT_ROUND_TIMEOUT_MS;

  await session.start();
  try {
    await session.connectAll(opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    let out: Outgoing[] | DkgResult = ceremony.start();
    for (;;) {
      session.send(out);
      const round = ceremony.currentRound;
      await session.waitUntil(
        () => ceremony.waitingFor().length === 0,
        roundTimeout,
        () => ceremony.waitingFor(),
        round,
      );
      logger.info("DKG round done", {round, missing: ceremony.waitingFor()});
      session.checkStopped();
      out = ceremony.advance();
      if (!Array.isArray(out)) break;
    }
    const result = out;
    for (const d of result.disqualified) logger.warn("DKG dealer disqualified", {...d});
    for (const f of result.faults) logger.warn("DKG fault", {...f});
    const lr = new LockRound(definition, result, self, auth);
    lockRound = lr;
    const mine = lr.start();
    for (const m of early) lr.receive(m);
    session.send([{message: mine}]);
    await session.waitUntil(
      () => lr.waitingFor().length === 0,
      roundTimeout,
      () => lr.waitingFor(),
      "lock",
    );
    const output = lr.finish();
    logger.info("DKG lock signed by every operator; encrypting this operator's share keystores", {
      lockHash: output.lock.lock_hash,
      keystores: output.lock.validators.length,
    });
    await writeOutput(nodeDir, output, result, self, definition, opts.kdf);
    return {output, result, self};
  } catch (e) {
    session.abortOthers(e);
    throw e;
  } finally {
    await session.close();
  }
}

/**
 * Writes in a temp folder inside the node dir, then moves the keys, the deposits and last the lock into place:
 * a failure leaves no lock, and a node never starts without one.
 */
async function writeOutput(
  nodeDir: string,
  output: DkgOutput,
  result: DkgResult,
  self: number,
  definition: ClusterDefinition,
  kdf: Kdf,
): Promise<void> {
  const tmp = await mkdtemp(join(nodeDir, ".dkg-partial-"));
  try {
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
    for (const f of [KEYS_DIR, DEPOSIT_FILE, LOCK_FILE]) await rename(join(tmp, f), join(nodeDir, f));
  } finally {
    await rm(tmp, {recursive: true, force: true});
  }
}
