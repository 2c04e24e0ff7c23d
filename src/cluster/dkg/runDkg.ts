import {randomBytes} from "node:crypto";
import {mkdir, mkdtemp, readdir, rename, rm} from "node:fs/promises";
import {join, resolve} from "node:path";
import {fromHex} from "../../hotpath/bytes.js";
import {initHerumi} from "../../hotpath/herumi.js";
import {R3dvError, errorMessage} from "../../util/errors.js";
import type {Logger} from "../../util/logger.js";
import {DEPOSIT_FILE, KEYS_DIR, LOCK_FILE, shareDescription, writeShareKeystores} from "../createCluster.js";
import type {ClusterDefinition} from "../definitionSchema.js";
import {writePublicFile} from "../fsSecure.js";
import {IDENTITY_FILE, loadIdentity} from "../identity.js";
import type {Kdf} from "../keystores.js";
import {identityAuthenticator} from "./authenticator.js";
import {DkgCeremony, type Outgoing} from "./ceremony.js";
import {DkgNetwork} from "./dkgNetwork.js";
import {type DkgOutput, type LockMessage, LockRound} from "./lockRound.js";
import {DkgError, type DkgResult} from "./outcome.js";
import {MAX_ABORT_REASON, type WireMessage} from "./wire.js";

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
/** How often the operators still missing are logged while waiting. */
const WAIT_LOG_INTERVAL_MS = 5000;
/**
 * At the end, success or not, messages still on their way out get this long before the host closes: an operator
 * that stops at a definition mismatch must still deliver its hello, or the others wait out a round for it.
 */
const FLUSH_MS = 5000;

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
  let wake = () => {};
  /** Set when another operator stopped: every wait ends at once and the ceremony fails with its reason. */
  let peerAborted: DkgError | undefined;
  const onMessage = (m: WireMessage) => {
    if (m.kind === "abort") {
      peerAborted ??= new DkgError(
        {code: "DKG_PEER_ABORTED", operator: m.from, reason: m.reason},
        `operator ${m.from} stopped the ceremony: ${m.reason}`,
      );
    } else if (m.kind === "lock") {
      if (lockRound) lockRound.receive(m);
      else early.push(m);
    } else {
      ceremony.receive(m);
    }
    wake();
  };
  const net = new DkgNetwork({
    definition,
    self,
    privateKey: identity.privateKey,
    listen: opts.listen,
    logger,
    onMessage,
  });
  const others = definition.operators.map((o) => o.index).filter((i) => i !== self);

  opts.signal?.addEventListener("abort", () => wake());
  /** Throws if the ceremony cannot go on: another operator stopped or restarted, or this one was cancelled. */
  const checkStopped = () => {
    if (peerAborted) throw peerAborted;
    const restarted = ceremony.restarted();
    if (restarted.length > 0) {
      throw new DkgError(
        {code: "DKG_PEER_RESTARTED", operators: restarted},
        `operator(s) ${restarted.join(", ")} restarted during the ceremony and lost its state: run the ceremony ` +
          `again, every operator at about the same time`,
      );
    }
    if (opts.signal?.aborted) throw new DkgError({code: "DKG_CANCELLED"}, "the DKG ceremony was cancelled");
  };
  /** Resolves when `done()` holds, re-checked on every message, or at the deadline; logs who is missing. */
  const waitUntil = async (done: () => boolean, timeoutMs: number, missing: () => number[], what: string) => {
    const deadline = Date.now() + timeoutMs;
    let lastLog = Date.now();
    for (;;) {
      checkStopped();
      if (done() || Date.now() >= deadline) return;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, Math.min(1000, deadline - Date.now()));
      });
      if (Date.now() - lastLog >= WAIT_LOG_INTERVAL_MS && !done()) {
        lastLog = Date.now();
        logger.info(`waiting for operators: ${what}`, {operators: missing()});
      }
    }
  };
  const roundTimeout = opts.roundTimeoutMs ?? DEFAULT_ROUND_TIMEOUT_MS;
  const inflight = new Set<Promise<unknown>>();
  let closed = false;
  /**
   * Sends in the background, retrying a peer that is not reachable yet until the round's deadline: the round
   * waits for messages in, not out, so one dead peer costs one deadline, not one per message.
   */
  const send = (out: {to?: number; message: WireMessage}[]): void => {
    const deadline = Date.now() + roundTimeout;
    const sending = Promise.all(
      out.flatMap(({to, message}) =>
        (to === undefined ? others : [to]).map(async (dest) => {
          for (;;) {
            try {
              return await net.send(dest, message);
            } catch (e) {
              if (closed) return;
              if (Date.now() > deadline) {
                logger.warn("DKG message not delivered", {peer: dest, kind: message.kind, reason: errorMessage(e)});
                return;
              }
              await new Promise((r) => setTimeout(r, 500));
            }
          }
        }),
      ),
    );
    inflight.add(sending);
    void sending.finally(() => inflight.delete(sending));
  };

  await net.start();
  try {
    return await ceremonyAndOutput();
  } catch (e) {
    // Tell the others why, so they stop now rather than at a deadline (not back to one that stopped us).
    if (!(e instanceof DkgError && e.code === "DKG_PEER_ABORTED")) {
      send([{message: {kind: "abort", from: self, reason: errorMessage(e).slice(0, MAX_ABORT_REASON)}}]);
    }
    throw e;
  } finally {
    let flushTimer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(inflight), new Promise((r) => (flushTimer = setTimeout(r, FLUSH_MS)))]);
    clearTimeout(flushTimer);
    // Retries to peers that are gone end here; left running they would hold the process up to a round deadline.
    closed = true;
    await net.stop();
  }

  async function ceremonyAndOutput(): Promise<{output: DkgOutput; result: DkgResult; self: number}> {
    const missingPeers = () => others.filter((i) => !net.connected().includes(i));
    logger.info("DKG: connecting to the definition's operators", {self, operators: others});
    await waitUntil(
      () => missingPeers().length === 0,
      opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      missingPeers,
      "connect",
    );
    if (missingPeers().length > 0) {
      const operators = missingPeers();
      throw new DkgError(
        {code: "DKG_OPERATORS_MISSING", round: "hello", operators},
        `operator(s) ${operators
          .map((i) => `${i} (${definition.operators[i - 1]?.peer_id} at ${definition.operators[i - 1]?.address})`)
          .join(", ")} did not connect: check that they run r3dv dkg with this definition and are reachable`,
      );
    }
    let out: Outgoing[] | DkgResult = ceremony.start();
    for (;;) {
      send(out);
      const round = ceremony.currentRound;
      await waitUntil(
        () => ceremony.waitingFor().length === 0,
        roundTimeout,
        () => ceremony.waitingFor(),
        round,
      );
      logger.info("DKG round done", {round, missing: ceremony.waitingFor()});
      checkStopped();
      out = ceremony.advance();
      if (!Array.isArray(out)) break;
    }
    const result = out;
    for (const d of result.disqualified) logger.warn("DKG dealer disqualified", {...d});
    for (const f of result.faults) logger.warn("DKG fault", {...f});
    lockRound = new LockRound(definition, result, self, auth);
    const mine = lockRound.start();
    for (const m of early) lockRound.receive(m);
    send([{message: mine}]);
    const lr = lockRound;
    await waitUntil(
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
