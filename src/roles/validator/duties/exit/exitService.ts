import {SLOTS_PER_EPOCH} from "@lodestar/params";
import type {phase0} from "@lodestar/types";
import {fromHex, toHex} from "../../../../hotpath/bytes.js";
import {recoverAndVerify, verifySignature} from "../../../../hotpath/threshold.js";
import {R3dvError, errorMessage} from "../../../../util/errors.js";
import type {Logger} from "../../../../util/logger.js";
import type {BeaconNode} from "../../beacon/beaconNode.js";
import type {ClusterTransport} from "../../clusterTransport.js";
import type {PublicShare} from "../../signing/shareKeys.js";
import type {Signer} from "../../signing/signer.js";
import {voluntaryExitSigningRoot} from "../../signing/signingRoots.js";
import type {DutyOutcome} from "../../tracking/outcome.js";
import {type PartialExit, decodePartialExit, encodePartialExit} from "./partialExit.js";

/**
 * How often pending exits are looked after, in epochs: each node pushes its own partial again (a node that was
 * down when it was first pushed hears it then, so signing needs no agreed moment) and submits a recovered exit
 * the chain does not show yet. One epoch: an exit waits at most that long for a node that came back, and a
 * handful of pending exits cost a chunk and a beacon read each per epoch.
 */
export const EXIT_REFRESH_EPOCHS = 1;

/**
 * How far ahead of the current epoch an exit may be signed: about a day on mainnet (225 epochs a day), for an
 * operator who plans an exit; more is likelier a typo than a plan.
 */
export const MAX_EPOCHS_AHEAD = 256;

/** What became of a partial exit this node signed or heard: a metric label. */
export type PartialExitResult = "signed" | "accepted" | "invalid" | "unknown_validator" | "malformed";

/** A recovered exit's submission: one duty result (`r3dv series --kind duty_result`, the duty results metric). */
export interface ExitResult extends DutyOutcome {
  duty: "voluntary_exit";
  /** The slot it was submitted (or failed) at. */
  slot: number;
  pubkey: string;
  validatorIndex: number;
  /** The exit message's epoch. */
  epoch: number;
  /** Operators whose partials made the signature. */
  signers: number[];
}

/** What `r3dv exit status` shows of one exit. */
export interface ExitStatus {
  pubkey: string;
  validatorIndex: number;
  epoch: number;
  threshold: number;
  /** Operators whose valid partial this node holds, and those whose it does not. */
  signed: number[];
  missing: number[];
  /** Operators whose partial did not verify against their share key. */
  invalid: number[];
  /** Operators who asked for the exit to be submitted (the rest signed it to be kept, `--out`). */
  submitRequested: number[];
  /** The exit's signature recovered and verified under the validator's key. */
  recovered: boolean;
  /** The last submission to the beacon nodes. */
  submitted?: {slot: number; ok: boolean; detail?: string};
  /** The validator's exit epoch once the chain shows it. */
  exitEpoch?: number;
  /** The signed exit as the Beacon API takes it (`POST /eth/v1/beacon/pool/voluntary_exits`), once recovered. */
  signedExit?: SignedExitJson;
}

export interface SignedExitJson {
  message: {epoch: string; validator_index: string};
  signature: string;
}

export type ExitErrorType =
  | {code: "EXIT_UNKNOWN_VALIDATOR"; validator: string}
  | {code: "EXIT_NOT_EXITABLE"; validator: string; status: string; exitEpoch?: number}
  | {code: "EXIT_BAD_EPOCH"; epoch: number; currentEpoch: number}
  | {code: "EXIT_SIGNING_REFUSED"; validator: string; reason: string};
/** An exit this node will not sign, with what is wrong. */
export class ExitError extends R3dvError<ExitErrorType> {}

export interface ExitServiceOptions {
  beacon: BeaconNode;
  transport: ClusterTransport;
  signer: Signer;
  shares: PublicShare[];
  threshold: number;
  n: number;
  logger: Logger;
  onResult(r: ExitResult): void;
  onPartial?(result: PartialExitResult): void;
  /** Partial exits this node signed or heard before it restarted (from its series), oldest first. */
  stored?: {origin: number; payload: Uint8Array}[];
}

interface Pending {
  exit: phase0.VoluntaryExit;
  pubkey: string;
  root: Uint8Array;
  partials: Map<number, Uint8Array>;
  submitRequested: Set<number>;
  invalid: Set<number>;
  signature?: Uint8Array;
  signers?: number[];
  submitted?: {slot: number; ok: boolean; detail?: string};
  exitEpoch?: number;
  /** This node's own partial, as pushed (pushed again each refresh until the chain shows the exit). */
  own?: PartialExit;
  /** A request to the beacon nodes is under way (a first submission or a re-broadcast). */
  sending?: boolean;
}

/**
 * Voluntary exits with no central party (issue 17): an operator asks its own node (`r3dv exit sign`, over the IPC
 * socket) to sign its share of a validator's `VoluntaryExit`; the partial is pushed to every node as a
 * `partial_exit` chunk, which each keeps in its series. Every node checks each partial against its sender's share
 * key, and once `threshold` operators' partials are in, any node recovers the signature, verifies it under the
 * validator's key and, if `threshold` of them asked for it, submits it to its beacon nodes. Fewer than `threshold`
 * operators can never exit a validator, and no node signs an exit unless its operator asked.
 */
export class ExitService {
  private readonly pending = new Map<string, Pending>();
  private readonly sharesByPubkey: Map<string, PublicShare>;
  private readonly unsubscribe: () => void;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ExitServiceOptions) {
    this.sharesByPubkey = new Map(o.shares.map((s) => [s.pubkey, s]));
    // Restored quietly: what was submitted before the restart is not submitted again until a refresh has asked the
    // chain whether it took it.
    for (const s of o.stored ?? []) this.receive(s.origin, s.payload, false);
    this.unsubscribe = o.transport.subscribe("partial_exit", (origin, _slot, payload) =>
      this.receive(origin, payload, true),
    );
  }

  start(): void {
    const everyMs = this.o.beacon.clock.slotMs * SLOTS_PER_EPOCH * EXIT_REFRESH_EPOCHS;
    this.timer = setInterval(() => void this.refresh(), everyMs);
    this.timer.unref();
    // Soon after a start: exits restored from the series learn whether the chain has them.
    if (this.pending.size > 0) setTimeout(() => void this.refresh(), this.o.beacon.clock.slotMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe();
  }

  /**
   * Signs this node's share of the validator's exit (by index or 0x pubkey) at `epoch` (default: the current one)
   * and pushes it to every node. `submit` false signs it to be kept (written out with `--out`), not broadcast.
   */
  async sign(validator: string, opts: {epoch?: number; submit: boolean}): Promise<ExitStatus> {
    const {beacon} = this.o;
    const id = /^\d+$/.test(validator) ? Number(validator) : validator.toLowerCase();
    const state = await beacon.validatorState(id);
    if (!this.sharesByPubkey.has(state.pubkey))
      throw new ExitError(
        {code: "EXIT_UNKNOWN_VALIDATOR", validator},
        `validator ${validator} (${state.pubkey}) is not one of this cluster's: check the index or key against cluster-lock.json`,
      );
    if (state.exitEpoch !== undefined || !state.status.startsWith("active"))
      throw new ExitError(
        {code: "EXIT_NOT_EXITABLE", validator, status: state.status, exitEpoch: state.exitEpoch},
        state.exitEpoch !== undefined
          ? `validator ${state.index} is already exiting (exit epoch ${state.exitEpoch}): there is nothing to sign`
          : `validator ${state.index} is ${state.status}: only an active validator can exit`,
      );
    const slot = beacon.clock.currentSlot();
    const currentEpoch = beacon.clock.epochOf(slot);
    const epoch = opts.epoch ?? currentEpoch;
    // An exit is valid from its epoch on; one far ahead would sit signed and unusable for that long.
    if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch > currentEpoch + MAX_EPOCHS_AHEAD)
      throw new ExitError(
        {code: "EXIT_BAD_EPOCH", epoch, currentEpoch},
        `--epoch ${epoch}: give an epoch from 0 to ${currentEpoch + MAX_EPOCHS_AHEAD} (the current epoch is ${currentEpoch}), or leave it out for the current one`,
      );
    const exit = {epoch, validatorIndex: state.index};
    const root = this.rootOf(exit);
    const [outcome] = await this.o.signer.signAll([{pubkey: state.pubkey, message: root}]);
    if (!outcome?.ok)
      throw new ExitError(
        {code: "EXIT_SIGNING_REFUSED", validator, reason: outcome ? outcome.error.message : "no answer"},
        `this node's share did not sign the exit: ${outcome ? outcome.error.message : "no answer"}`,
      );
    const p = this.entry(state.pubkey, exit, root);
    p.own = {
      pubkey: state.pubkey,
      validatorIndex: state.index,
      epoch,
      signature: toHex(outcome.signature),
      submit: opts.submit,
    };
    this.add(p, this.o.transport.self, outcome.signature, opts.submit, true);
    this.o.onPartial?.("signed");
    this.o.logger.info("exit share signed", {validator: state.index, epoch, submit: opts.submit});
    this.push(p.own);
    return this.statusOf(p);
  }

  /** Every exit this node holds a partial of, or only the validator's (index or pubkey), with the chain asked now. */
  async status(validator?: string): Promise<ExitStatus[]> {
    const all = [...this.pending.values()];
    const mine =
      validator === undefined
        ? all
        : all.filter((p) =>
            /^\d+$/.test(validator)
              ? p.exit.validatorIndex === Number(validator)
              : p.pubkey === validator.toLowerCase(),
          );
    for (const p of mine) await this.readChain(p);
    return mine.map((p) => this.statusOf(p));
  }

  /** Pushes own partials again and submits recovered exits the chain does not show yet. */
  async refresh(): Promise<void> {
    for (const p of this.pending.values()) {
      if (await this.readChain(p)) continue;
      if (p.own) this.push(p.own);
      if (p.signature) await this.submit(p);
    }
  }

  /** Whether the chain shows the validator exiting (remembered once it does); false when it cannot be read. */
  private async readChain(p: Pending): Promise<boolean> {
    if (p.exitEpoch !== undefined) return true;
    try {
      const state = await this.o.beacon.validatorState(p.exit.validatorIndex);
      if (state.exitEpoch === undefined) return false;
      p.exitEpoch = state.exitEpoch;
      this.o.logger.info("exit on chain", {validator: p.exit.validatorIndex, exitEpoch: state.exitEpoch});
      return true;
    } catch (e) {
      this.o.logger.debug("exit state not read", {validator: p.exit.validatorIndex}, e);
      return false;
    }
  }

  private receive(origin: number, payload: Uint8Array, live: boolean): void {
    const partial = decodePartialExit(payload);
    if (!partial) return this.o.onPartial?.("malformed");
    const share = this.sharesByPubkey.get(partial.pubkey);
    const sharePubkey = share?.sharePubkeys[origin];
    if (!sharePubkey) return this.o.onPartial?.("unknown_validator");
    const exit = {epoch: partial.epoch, validatorIndex: partial.validatorIndex};
    const root = this.rootOf(exit);
    const signature = fromHex(partial.signature, 96);
    // Checked one by one on the main thread (exits are a handful in a validator's life, a check is ~1 ms), and
    // before anything is kept: a member's forged partials, or ones for epochs no operator may sign, cost it a
    // refusal, never this node's memory.
    const tooFar = partial.epoch > this.o.beacon.clock.epochOf(this.o.beacon.clock.currentSlot()) + MAX_EPOCHS_AHEAD;
    if (tooFar || !verifySignature(sharePubkey, root, signature)) {
      this.pending.get(pendingKey(partial.pubkey, exit))?.invalid.add(origin);
      this.o.logger.warn("invalid partial exit", {operator: origin, validator: partial.validatorIndex, tooFar});
      return this.o.onPartial?.("invalid");
    }
    const p = this.entry(partial.pubkey, exit, root);
    if (origin === this.o.transport.self) p.own ??= partial;
    this.o.onPartial?.("accepted");
    this.add(p, origin, signature, partial.submit, live);
  }

  private entry(pubkey: string, exit: phase0.VoluntaryExit, root: Uint8Array): Pending {
    const key = pendingKey(pubkey, exit);
    let p = this.pending.get(key);
    if (!p) {
      p = {exit, pubkey, root, partials: new Map(), submitRequested: new Set(), invalid: new Set()};
      this.pending.set(key, p);
    }
    return p;
  }

  private add(p: Pending, operator: number, signature: Uint8Array, submit: boolean, live: boolean): void {
    if (!p.partials.has(operator)) p.partials.set(operator, signature);
    // An operator who first signed to keep (`--out`) may later ask for the same exit to be submitted.
    if (submit) p.submitRequested.add(operator);
    if (!p.signature && p.partials.size >= this.o.threshold) this.recover(p);
    if (live && p.signature && p.submitted === undefined && this.shouldSubmit(p)) void this.submit(p);
  }

  private recover(p: Pending): void {
    const share = this.sharesByPubkey.get(p.pubkey) as PublicShare;
    const r = recoverAndVerify({
      message: p.root,
      pubkey: fromHex(p.pubkey, 48),
      sharePubkeys: share.sharePubkeys,
      threshold: this.o.threshold,
      partials: [...p.partials].map(([shareIndex, signature]) => ({shareIndex, signature})),
    });
    if (!r.ok) {
      for (const b of r.badShares) p.invalid.add(b);
      this.o.logger.error("exit signature not recovered", {validator: p.exit.validatorIndex, reason: r.reason});
      return;
    }
    p.signature = r.signature;
    p.signers = r.usedShares;
    this.o.logger.info("exit signature recovered", {validator: p.exit.validatorIndex, signers: r.usedShares});
  }

  private shouldSubmit(p: Pending): boolean {
    return p.submitRequested.size >= this.o.threshold;
  }

  private async submit(p: Pending): Promise<void> {
    // One request at a time: a refresh firing while the first submission is in flight sent the exit again and,
    // both answered, recorded two results for one exit (CI saw a node's "submitted" counted twice).
    if (!p.signature || !this.shouldSubmit(p) || p.sending) return;
    p.sending = true;
    try {
      await this.send(p, p.signature);
    } finally {
      p.sending = false;
    }
  }

  private async send(p: Pending, signature: Uint8Array): Promise<void> {
    const slot = this.o.beacon.clock.currentSlot();
    const result = (r: Pick<ExitResult, "status" | "reason" | "detail">) =>
      this.o.onResult({
        duty: "voluntary_exit",
        slot,
        pubkey: p.pubkey,
        validatorIndex: p.exit.validatorIndex,
        epoch: p.exit.epoch,
        signers: p.signers ?? [],
        ...r,
      });
    // An exit a beacon node already took, sent again because no block holds it yet (refresh): a re-broadcast, not
    // a second duty. Counted as one, an exit waiting an epoch in the pool read as two exits in the duty results.
    if (p.submitted?.ok) {
      try {
        await this.o.beacon.submitVoluntaryExit({message: p.exit, signature});
        this.o.logger.debug("exit sent again, not on chain yet", {validator: p.exit.validatorIndex, slot});
      } catch (e) {
        this.o.logger.warn("exit not sent again", {validator: p.exit.validatorIndex, slot}, e);
      }
      return;
    }
    // Marked before the request: a partial arriving meanwhile must not start a second submission.
    p.submitted = {slot, ok: false, detail: "in flight"};
    try {
      await this.o.beacon.submitVoluntaryExit({message: p.exit, signature});
      p.submitted = {slot, ok: true};
      result({status: "submitted"});
    } catch (e) {
      // Another node's submission may have reached the chain first (each node that recovers submits): a beacon
      // node then refuses this one as already exited. The cluster's exit is done, so that is no failure.
      if (await this.readChain(p)) {
        p.submitted = {slot, ok: true, detail: `already on chain (exit epoch ${p.exitEpoch})`};
        result({status: "submitted", detail: `the chain already holds the exit (exit epoch ${p.exitEpoch})`});
        return;
      }
      p.submitted = {slot, ok: false, detail: errorMessage(e)};
      result({status: "failed", reason: "submit_failed", detail: errorMessage(e)});
    }
  }

  private push(own: PartialExit): void {
    this.o.transport.publish("partial_exit", this.o.beacon.clock.currentSlot(), encodePartialExit(own));
  }

  private rootOf(exit: phase0.VoluntaryExit): Uint8Array {
    return voluntaryExitSigningRoot(this.o.beacon.config, exit, this.o.beacon.clock.currentSlot());
  }

  private statusOf(p: Pending): ExitStatus {
    const signed = [...p.partials.keys()].sort((a, b) => a - b);
    const missing = Array.from({length: this.o.n}, (_, k) => k + 1).filter((i) => !p.partials.has(i));
    return {
      pubkey: p.pubkey,
      validatorIndex: p.exit.validatorIndex,
      epoch: p.exit.epoch,
      threshold: this.o.threshold,
      signed,
      missing,
      invalid: [...p.invalid].sort((a, b) => a - b),
      submitRequested: [...p.submitRequested].sort((a, b) => a - b),
      recovered: p.signature !== undefined,
      ...(p.submitted ? {submitted: p.submitted} : {}),
      ...(p.exitEpoch !== undefined ? {exitEpoch: p.exitEpoch} : {}),
      ...(p.signature
        ? {
            signedExit: {
              message: {epoch: String(p.exit.epoch), validator_index: String(p.exit.validatorIndex)},
              signature: toHex(p.signature),
            },
          }
        : {}),
    };
  }
}

/** Keyed by what was signed: a partial over another index or epoch is another exit, never mixed in. */
function pendingKey(pubkey: string, exit: phase0.VoluntaryExit): string {
  return `${pubkey}/${exit.validatorIndex}/${exit.epoch}`;
}
