import {SLOTS_PER_EPOCH} from "@lodestar/params";
import type {Logger} from "../../../util/logger.js";
import {errorMessage} from "../../../util/errors.js";
import type {SlotClock} from "../schedule/slotClock.js";
import {DutyTimers} from "../schedule/dutyClock.js";

/**
 * Where in a slot the guard looks: after the slot's attestations were signed and their partials exchanged (due
 * at 1/3 of the slot, a consensus round and a signing after it), so the cluster's own signatures of the slot are
 * in the series before its liveness is read, and before the next slot's proposal.
 */
const LOOK_AT_SLOT_SHARE = 0.75;
/**
 * Epochs after the start during which a validator found live elsewhere is cleared again if the cluster's own
 * signatures for it reach the series: a node restarted inside a running cluster may read its liveness before
 * its catch-up has fetched its peers' partials (seen: 9 to 11 slots to reconnect on two shared cores). After
 * that the verdict stands, and the looks (a scan of the series' slots since the start) end.
 */
const RECLEAR_EPOCHS = 2;

/**
 * - checking: not signing until the beacon node has said, for the start's epoch and the one before, that no one
 *   signed for the validator, or until the cluster's own signatures explain what it saw;
 * - safe: signing (`reason` says why: started in the genesis epoch, the cluster's own signatures, or no one live);
 * - live_elsewhere: another signer holds the key; it does not sign again in this process (but for the cluster's own
 *   signatures reaching the series in the epochs right after the start, see RECLEAR_EPOCHS);
 * - off: `--doppelganger off`.
 */
export type DoppelgangerState = "checking" | "safe" | "live_elsewhere" | "off";

/** Every state at zero: the counts before the duties start, or with no guard. */
export function noDoppelgangerCounts(): Record<DoppelgangerState, number> {
  return {checking: 0, safe: 0, live_elsewhere: 0, off: 0};
}

export interface DoppelgangerStatus {
  pubkey: string;
  /** Absent while the beacon node has not said, or for a key the chain does not know yet. */
  index?: number;
  state: DoppelgangerState;
  /** What an operator reads: why the state, and what to do. */
  detail: string;
  /** For live_elsewhere: the epoch the beacon node saw it signing with no signature of the cluster's. */
  liveEpoch?: number;
}

export interface DoppelgangerOptions {
  pubkeys: string[];
  enabled: boolean;
  /** This node's operator index and the cluster's threshold: what makes partial signatures the cluster's. */
  self: number;
  threshold: number;
  clock: SlotClock;
  /** The beacon node's answers (BeaconNode's methods). */
  validatorIndices(pubkeys: string[]): Promise<Map<string, number>>;
  liveness(epoch: number, indices: number[]): Promise<Map<number, boolean>>;
  /**
   * The members (operator indices) whose partial signatures for each validator this node's series holds in slots
   * `from..to` (its own included). A validator is the cluster's when this node signed for it (before a restart:
   * it had passed its own check then) or when threshold - 1 others did (with this node that is a signature the
   * cluster made): liveness they explain is the cluster's, not another signer's. A node restarting inside a
   * running cluster finds them there (its peers' pushed or fetched by its catch-up) and so signs again within
   * slots instead of waiting an epoch. One member alone (say, one started with --doppelganger off) is not enough.
   */
  clusterSigned(fromSlot: number, toSlot: number): Map<string, Set<number>>;
  logger: Logger;
  /**
   * The first epoch this lock signs in (a lock made by `r3dv reshare`: its switch epoch). Before it the lock it
   * reshared signs for the same keys, so liveness there is that cluster's, not another signer's.
   */
  signsFromEpoch?: number;
  /** Each change of a validator's state: a metric and a series entry in the node. */
  onChange?(s: DoppelgangerStatus): void;
  now?(): number;
}

/**
 * Doppelganger protection (what Lodestar's and Teku's validator clients do, for a distributed validator): a
 * validator whose key signs elsewhere (a solo client not yet stopped after its key was split, or a second
 * cluster started from the same keys) would be slashed the moment both sign different messages. Before this node
 * signs for a validator, it asks its beacon node whether the validator was live in the epoch before the start
 * and in the start's epoch. Live with no signature of the cluster's to explain it means another signer: the
 * Signer refuses every message of that validator. A start in the genesis epoch skips the check (nothing can
 * have signed before genesis), as Lodestar's does.
 */
export class DoppelgangerGuard {
  private readonly states = new Map<string, DoppelgangerStatus>();
  private readonly timers = new DutyTimers();
  private startEpoch = 0;
  /** Epochs whose liveness must be read (each once the epoch's last slot is reached) before `checking` ends. */
  private readonly pending = new Set<number>();
  private stopped = false;
  private indicesKnown = false;
  private summarized = false;

  constructor(private readonly o: DoppelgangerOptions) {
    for (const pubkey of o.pubkeys)
      this.states.set(pubkey, {
        pubkey,
        state: o.enabled ? "checking" : "off",
        detail: o.enabled
          ? "doppelganger protection: checking that no one else signs for this validator before signing"
          : "doppelganger protection is off (--doppelganger off)",
      });
  }

  /** Why this node must not sign for `pubkey` now, or undefined when it may. */
  refusal(pubkey: string): string | undefined {
    const s = this.states.get(pubkey);
    if (!s || s.state === "safe" || s.state === "off") return undefined;
    return s.detail;
  }

  counts(): Record<DoppelgangerState, number> {
    const out = noDoppelgangerCounts();
    for (const s of this.states.values()) out[s.state]++;
    return out;
  }

  /** The first `limit` validators not signing (checking, or live elsewhere): copies only of those. */
  notSigning(limit: number): DoppelgangerStatus[] {
    const out: DoppelgangerStatus[] = [];
    for (const s of this.states.values()) {
      if (out.length >= limit) break;
      if (s.state === "checking" || s.state === "live_elsewhere") out.push({...s});
    }
    return out;
  }

  statuses(): DoppelgangerStatus[] {
    return [...this.states.values()].map((s) => ({...s}));
  }

  start(): void {
    if (!this.o.enabled) return;
    const now = this.now();
    const slot = this.o.clock.currentSlot(now);
    this.startEpoch = this.o.clock.epochOf(slot);
    if (now < this.o.clock.slotStartMs(SLOTS_PER_EPOCH)) {
      for (const s of this.states.values())
        this.set(s, "safe", "started in the genesis epoch: no one can have signed for it before");
      this.summarize();
      return;
    }
    const from = this.o.signsFromEpoch ?? 0;
    for (const epoch of [this.startEpoch - 1, this.startEpoch]) if (epoch >= from) this.pending.add(epoch);
    if (this.pending.size === 0) {
      for (const s of this.states.values())
        this.set(s, "safe", `before this lock's switch epoch ${from} the lock it reshared signs: liveness is its`);
      this.summarize();
      return;
    }
    this.o.logger.info("doppelganger protection: checking validators before signing", {
      validators: this.states.size,
      epochs: [...this.pending],
    });
    // At once: a node restarted within a slot or two finds its own recent signatures in the series. The next
    // look is scheduled after this one ends, so two never read liveness at once.
    void this.look(slot).finally(() => {
      this.summarize();
      this.schedule(slot + 1);
    });
  }

  stop(): void {
    this.stopped = true;
    this.timers.stop();
  }

  private schedule(slot: number): void {
    if (this.stopped || !this.looking(this.o.clock.epochOf(slot))) return;
    const at = this.o.clock.slotStartMs(slot) + Math.floor(this.o.clock.slotMs * LOOK_AT_SLOT_SHARE);
    this.timers.at(at, () => {
      void this.look(slot).finally(() => {
        this.summarize();
        this.schedule(slot + 1);
      });
    });
  }

  private looking(epoch: number): boolean {
    return (
      this.checking().length > 0 ||
      (epoch <= this.startEpoch + RECLEAR_EPOCHS && [...this.states.values()].some((s) => s.state === "live_elsewhere"))
    );
  }

  private checking(): DoppelgangerStatus[] {
    return [...this.states.values()].filter((s) => s.state === "checking");
  }

  /** The validators the cluster signed for since the epoch before the start (see clusterSigned). */
  private clusters(toSlot: number): Set<string> {
    const out = new Set<string>();
    let signers: Map<string, Set<number>>;
    try {
      signers = this.o.clusterSigned(Math.max(0, (this.startEpoch - 1) * SLOTS_PER_EPOCH), toSlot);
    } catch (e) {
      this.o.logger.warn("doppelganger protection could not read the series", {toSlot}, e);
      return out;
    }
    for (const [pubkey, members] of signers) {
      const others = [...members].filter((m) => m !== this.o.self).length;
      if (members.has(this.o.self) || others >= this.o.threshold - 1) out.add(pubkey);
    }
    return out;
  }

  /** One look: the cluster's own signatures first, then, once an epoch is complete, the beacon node's liveness. */
  private async look(slot: number): Promise<void> {
    if (this.stopped) return;
    const ours = this.clusters(slot);
    const since = Math.max(0, this.startEpoch - 1);
    for (const s of this.states.values())
      if ((s.state === "checking" || s.state === "live_elsewhere") && ours.has(s.pubkey))
        this.set(s, "safe", `the cluster's own signatures for it since epoch ${since} are in the series`);
    if (!this.checking().length) return;
    await this.readIndices();
    // Without indices no liveness can be asked: an epoch counts as clean only once asked about every validator.
    if (!this.indicesKnown) return;
    for (const s of this.checking())
      if (s.index === undefined && this.indicesKnown) this.set(s, "safe", "not on chain yet: it cannot have signed");
    const current = this.o.clock.epochOf(slot);
    for (const epoch of [...this.pending].sort((a, b) => a - b)) {
      if (epoch < 0) {
        this.pending.delete(epoch);
        continue;
      }
      // A beacon node answers the current and the previous epoch only: an epoch missed (the beacon node was
      // down) is replaced by the current one, since another signer still running signs in it too.
      if (epoch < current - 1) {
        this.pending.delete(epoch);
        this.pending.add(current);
        continue;
      }
      if (slot < (epoch + 1) * SLOTS_PER_EPOCH - 1) continue;
      if (await this.readLiveness(epoch, ours)) this.pending.delete(epoch);
    }
    if (this.pending.size === 0)
      for (const s of this.checking())
        this.set(s, "safe", `not live in epochs ${since} to ${current} other than by this cluster`);
  }

  private async readIndices(): Promise<void> {
    const unknown = this.checking().filter((s) => s.index === undefined);
    if (!unknown.length || this.indicesKnown) return;
    try {
      const indices = await this.o.validatorIndices(unknown.map((s) => s.pubkey));
      for (const s of unknown) {
        const index = indices.get(s.pubkey);
        if (index !== undefined) s.index = index;
      }
      this.indicesKnown = true;
    } catch (e) {
      this.o.logger.warn("doppelganger protection: the beacon node did not give validator indices; retrying", {}, e);
    }
  }

  /** True once the beacon node answered for `epoch`; live validators the cluster did not sign for are refused. */
  private async readLiveness(epoch: number, ours: Set<string>): Promise<boolean> {
    const asked = this.checking().filter((s) => s.index !== undefined);
    if (!asked.length) return true;
    let live: Map<number, boolean>;
    try {
      live = await this.o.liveness(
        epoch,
        asked.map((s) => s.index as number),
      );
    } catch (e) {
      const detail =
        `doppelganger protection: the beacon node did not answer /eth/v1/validator/liveness/${epoch} (${errorMessage(e)}); ` +
        "this validator signs once it does: check the beacon node, or run with --doppelganger off to skip the check";
      for (const s of asked) s.detail = detail;
      this.o.logger.warn("doppelganger protection: liveness not read; retrying next slot", {epoch}, e);
      return false;
    }
    for (const s of asked) {
      if (!live.get(s.index as number)) continue;
      if (ours.has(s.pubkey)) {
        this.set(s, "safe", `live in epoch ${epoch}, and the cluster's own signatures for it are in the series`);
        continue;
      }
      s.liveEpoch = epoch;
      this.set(
        s,
        "live_elsewhere",
        `doppelganger protection: validator ${s.index} was live in epoch ${epoch} and this cluster signed nothing for it then: ` +
          "another signer holds its key (a solo client not stopped, or a second cluster); it will not sign. " +
          "Stop the other signer, wait two epochs, then restart this node (--doppelganger off skips the check)",
      );
    }
    return true;
  }

  private set(s: DoppelgangerStatus, state: DoppelgangerState, detail: string): void {
    s.state = state;
    s.detail = detail;
    const context = {validator: s.index ?? s.pubkey, state, detail};
    // One line per validator only when it matters: a cluster of thousands logs one summary line when safe.
    if (state === "live_elsewhere")
      this.o.logger.error("doppelganger detected: not signing for this validator", context);
    else this.o.logger.debug("doppelganger protection: validator may sign", context);
    this.o.onChange?.({...s});
  }

  /** Once, when no validator is left checking: one line for the whole cluster (after a batch of set()s). */
  private summarize(): void {
    if (this.summarized || this.checking().length > 0) return;
    this.summarized = true;
    const c = this.counts();
    this.o.logger.info("doppelganger protection: every validator checked", {
      safe: c.safe,
      liveElsewhere: c.live_elsewhere,
    });
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }
}
