import type {PrivateKey} from "@libp2p/interface";
import type {Logger} from "../../util/logger.js";
import type {ClusterDefinition} from "../definitionSchema.js";
import type {DkgCeremony, Outgoing} from "./ceremony.js";
import {DkgSession} from "./dkgSession.js";
import type {DkgOutput, LockMessage, LockRound} from "./lockRound.js";
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
/**
 * How often a ceremony starts over because an operator restarted mid-way (its state lost) before it gives up:
 * one restart is the common case (a crash, a reboot); more in one ceremony means a machine that keeps failing,
 * better named than waited for.
 */
export const MAX_RESTARTS = 3;

/** How a participant reaches the others, shared by every ceremony command (`dkg`, `reshare`). */
export interface CeremonyLinkOptions {
  listen?: string;
  logger: Logger;
  /** Default DEFAULT_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** Default DEFAULT_ROUND_TIMEOUT_MS. */
  roundTimeoutMs?: number;
  /** Stops the ceremony (Ctrl-C): the others are told, nothing is written. */
  signal?: AbortSignal;
}

export interface RunCeremonyOptions extends CeremonyLinkOptions {
  /** Who takes part, as operators of a definition: the DKG's definition, or a reshare's participants. */
  network: ClusterDefinition;
  self: number;
  privateKey: PrivateKey;
  /** A fresh ceremony for each attempt (its own polynomials): the first, and one after each restart. */
  newCeremony: () => DkgCeremony;
  /** The lock round for this participant's keys, or undefined when it receives none (a reshare's leaving dealer). */
  lockRound: (result: DkgResult) => LockRound | undefined;
  /** The participants that sign the lock: the lock messages go to them only. */
  signers: number[];
}

/**
 * One participant's side of a ceremony over libp2p: connect to every participant, run the rounds, then the lock
 * round among the signers. An operator that restarts mid-way (a crash, a reboot) lost its polynomials: every
 * participant then starts the ceremony over with new ones, up to MAX_RESTARTS times. Whatever else stops it is sent
 * to the others so that they stop at once too.
 */
export async function runCeremony(o: RunCeremonyOptions): Promise<{result: DkgResult; output?: DkgOutput}> {
  const {logger} = o;
  const roundTimeoutMs = o.roundTimeoutMs ?? DEFAULT_ROUND_TIMEOUT_MS;
  let ceremony = o.newCeremony();
  let early: LockMessage[] = [];
  let lockRound: LockRound | undefined;
  const session = new DkgSession({
    definition: o.network,
    self: o.self,
    privateKey: o.privateKey,
    listen: o.listen,
    logger,
    roundTimeoutMs,
    signal: o.signal,
    onMessage: (m) => {
      if (m.kind !== "lock") ceremony.receive(m);
      else if (lockRound) lockRound.receive(m);
      else early.push(m);
    },
    helloOpen: () => ceremony.currentRound === "hello",
    onReplaced: (from) => ceremony.forget(from),
  });

  await session.start();
  let done = false;
  try {
    await session.connectAll(o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    for (let restarts = 0; ; restarts++) {
      try {
        const outcome = await attempt();
        done = true;
        return outcome;
      } catch (e) {
        if (!(e instanceof DkgError && e.type.code === "DKG_PEER_RESTARTED") || restarts >= MAX_RESTARTS) throw e;
        logger.warn("DKG: starting the ceremony over", {operators: e.type.operators, restarts: restarts + 1});
        ceremony = o.newCeremony();
        lockRound = undefined;
        early = [];
        session.newAttempt();
      }
    }
  } catch (e) {
    session.abortOthers(e);
    throw e;
  } finally {
    // Done: every send is retried until delivered or its round's deadline (the others may still wait for it).
    await session.close(done ? roundTimeoutMs : undefined);
  }

  async function attempt(): Promise<{result: DkgResult; output?: DkgOutput}> {
    let out: Outgoing[] | DkgResult = ceremony.start();
    for (;;) {
      session.send(out);
      const round = ceremony.currentRound;
      await session.waitUntil(
        () => ceremony.waitingFor().length === 0,
        roundTimeoutMs,
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
    const lr = o.lockRound(result);
    if (lr === undefined) return {result};
    lockRound = lr;
    const mine = lr.start();
    for (const m of early) lr.receive(m);
    session.send(o.signers.filter((i) => i !== o.self).map((to) => ({to, message: mine})));
    await session.waitUntil(
      () => lr.waitingFor().length === 0,
      roundTimeoutMs,
      () => lr.waitingFor(),
      "lock",
    );
    const output = lr.finish();
    logger.info("DKG lock signed by every operator; encrypting this operator's share keystores", {
      lockHash: output.lock.lock_hash,
      keystores: output.lock.validators.length,
    });
    return {result, output};
  }
}
