import {fromHex, toHex} from "../../hotpath/bytes.js";
import {type PartialSignature, recoverAndVerify, sign} from "../../hotpath/threshold.js";
import type {ClusterDefinition} from "../definitionSchema.js";
import {DEFAULT_DEPOSIT_GWEI, type DepositDataJson, buildDepositData, depositSigningRoot} from "../deposit.js";
import {computeLockHash} from "../lock.js";
import {type ClusterLock, LOCK_VERSION, type LockBody} from "../lockSchema.js";
import {lockSigningBytes} from "../lockSignature.js";
import {withdrawalCredentials} from "../withdrawal.js";
import type {DkgAuthenticator} from "./authenticator.js";
import {DkgError, type DkgResult} from "./outcome.js";

/** Broadcast by every operator once it holds its keys: its signature over the lock and its deposit partials. */
export interface LockMessage {
  kind: "lock";
  from: number;
  lockHash: string;
  /** Ed25519 identity signature over the lock hash, as create-cluster's lock carries (lockSignature.ts). */
  signature: Uint8Array;
  /** One partial signature per validator over its deposit message's signing root. */
  depositPartials: Uint8Array[];
}

export interface DkgOutput {
  lock: ClusterLock;
  deposits: DepositDataJson[];
}

/**
 * The lock every operator builds from the definition and the DKG's public output alone: name, uuid and
 * created_at come from the definition, so the lock is byte-identical on every machine, and its hash covers every
 * group key and public share, which makes every operator's signature a check that all ended with the same keys.
 * A reshare's lock carries each validator's settings over from the old lock and names that lock.
 */
export function lockBodyFor(definition: ClusterDefinition, keys: DkgResult, oldLock?: ClusterLock): LockBody {
  const creds = toHex(withdrawalCredentials(definition.withdrawal_address, definition.compounding));
  const carried = (j: number) => {
    const from = oldLock?.validators[j] ?? {
      fee_recipient: definition.fee_recipient,
      withdrawal_credentials: creds,
      gas_limit: definition.gas_limit,
    };
    const gas = from.gas_limit === undefined ? {} : {gas_limit: from.gas_limit};
    return {fee_recipient: from.fee_recipient, withdrawal_credentials: from.withdrawal_credentials, ...gas};
  };
  return {
    version: LOCK_VERSION,
    name: definition.name,
    uuid: definition.uuid,
    created_at: definition.created_at,
    network: definition.network,
    fork_version: definition.fork_version,
    threshold: definition.threshold,
    operators: definition.operators,
    validators: keys.validators.map((v, j) => ({
      pubkey: toHex(v.groupPubkey),
      share_pubkeys: v.sharePubkeys.map(toHex),
      ...carried(j),
    })),
    ...(oldLock === undefined
      ? {}
      : {reshared_from: {lock_hash: oldLock.lock_hash, switch_epoch: definition.reshare?.switch_epoch ?? 0}}),
  };
}

/**
 * The step after the DKG: every operator signs the lock hash and each validator's deposit message with its
 * share, and the deposits are recovered from the partials (no machine ever holds a validator key). A different
 * lock hash from anyone stops the ceremony, naming them: that operator ended with other keys.
 */
export class LockRound {
  private readonly body: LockBody;
  private readonly lockHash: string;
  private readonly roots: Uint8Array[];
  /** Per validator: the withdrawal credentials its deposit names, as the lock carries them. */
  private readonly creds: Uint8Array[];
  private readonly got = new Map<number, LockMessage>();

  /**
   * `oldLock`: a reshare's, whose validators keep their settings. Its operators sign the same deposits again
   * with their new shares: a deposit that recovers and verifies under the unchanged key proves the shares work.
   */
  constructor(
    private readonly definition: ClusterDefinition,
    private readonly keys: DkgResult,
    private readonly self: number,
    private readonly auth: DkgAuthenticator,
    oldLock?: ClusterLock,
  ) {
    this.body = lockBodyFor(definition, keys, oldLock);
    this.lockHash = computeLockHash(this.body);
    this.creds = this.body.validators.map((v) => fromHex(v.withdrawal_credentials));
    this.roots = keys.validators.map((v, j) =>
      depositSigningRoot(definition.network, v.groupPubkey, this.creds[j] as Uint8Array, DEFAULT_DEPOSIT_GWEI),
    );
  }

  start(): LockMessage {
    const message: LockMessage = {
      kind: "lock",
      from: this.self,
      lockHash: this.lockHash,
      signature: this.auth.sign(lockSigningBytes(this.lockHash)),
      depositPartials: this.keys.validators.map((v, j) => sign(v.secretShare, this.roots[j] as Uint8Array)),
    };
    this.got.set(this.self, message);
    return message;
  }

  /** First message per operator wins; one with the wrong number of partials is dropped (the operator is then missing). */
  receive(message: LockMessage): void {
    const n = this.definition.operators.length;
    if (!Number.isInteger(message.from) || message.from < 1 || message.from > n || this.got.has(message.from)) return;
    if (message.depositPartials.length !== this.keys.validators.length) return;
    this.got.set(message.from, message);
  }

  waitingFor(): number[] {
    return this.definition.operators.map((o) => o.index).filter((i) => !this.got.has(i));
  }

  /** The lock with every operator's signature, and the deposits; throws a DkgError naming whoever disagrees. */
  finish(): DkgOutput {
    const missing = this.waitingFor();
    if (missing.length > 0) {
      throw new DkgError(
        {code: "DKG_OPERATORS_MISSING", round: "lock", operators: missing},
        `operator(s) ${missing.join(", ")} sent no lock signature; the lock needs every operator's`,
      );
    }
    const messages = [...this.got.values()].sort((a, b) => a.from - b.from);
    const differ = messages.filter((m) => m.lockHash !== this.lockHash);
    if (differ.length > 0) {
      const operators = differ.map((m) => ({operator: m.from, lockHash: m.lockHash}));
      throw new DkgError(
        {code: "DKG_LOCK_MISMATCH", expected: this.lockHash, operators},
        `operator(s) ${operators.map((o) => o.operator).join(", ")} built a different lock (${operators
          .map((o) => o.lockHash)
          .join(", ")}) than ours (${this.lockHash}): they ended the DKG with other keys; the ceremony must be rerun`,
      );
    }
    const bytes = lockSigningBytes(this.lockHash);
    const forged = messages.filter((m) => !this.auth.verify(m.from, bytes, m.signature)).map((m) => m.from);
    if (forged.length > 0) {
      throw new DkgError(
        {code: "DKG_LOCK_SIGNATURE_INVALID", operators: forged},
        `the lock signature of operator(s) ${forged.join(", ")} does not verify under their peer id`,
      );
    }
    const deposits = this.keys.validators.map((_, j) => this.deposit(j, messages));
    const lock: ClusterLock = {
      ...this.body,
      lock_hash: this.lockHash,
      node_signatures: messages.map((m) => toHex(m.signature)),
    };
    return {lock, deposits};
  }

  /** Recovers validator j's deposit signature from every operator's partial, naming bad ones. */
  private deposit(j: number, messages: LockMessage[]): DepositDataJson {
    const v = this.keys.validators[j] as DkgResult["validators"][number];
    const partials: PartialSignature[] = messages.map((m) => ({
      shareIndex: m.from,
      signature: m.depositPartials[j] as Uint8Array,
    }));
    const result = recoverAndVerify({
      message: this.roots[j] as Uint8Array,
      pubkey: v.groupPubkey,
      sharePubkeys: Object.fromEntries(v.sharePubkeys.map((pk, k) => [k + 1, pk])),
      threshold: this.definition.threshold,
      partials,
    });
    if (!result.ok) {
      throw new DkgError(
        {code: "DKG_DEPOSIT_FAILED", validator: j, badShares: result.badShares},
        `validator ${j}: the deposit partials do not recover a valid signature (bad partials from operator(s) ` +
          `${result.badShares.join(", ") || "none"}: ${result.reason})`,
      );
    }
    const creds = this.creds[j] as Uint8Array;
    return buildDepositData(this.definition.network, v.groupPubkey, creds, DEFAULT_DEPOSIT_GWEI, result.signature);
  }
}
