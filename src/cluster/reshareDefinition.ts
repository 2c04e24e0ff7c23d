import {fromHex, toHex} from "../hotpath/bytes.js";
import {COMPOUNDING_WITHDRAWAL_PREFIX} from "./withdrawal.js";
import {type DefinitionOptions, DefinitionError, buildDefinition, computeDefinitionHash} from "./definition.js";
import type {ClusterDefinition} from "./definitionSchema.js";
import type {ClusterLock, LockOperator} from "./lockSchema.js";

/**
 * A reshare's definition: the new operators and threshold, for the validators of an existing lock, whose
 * network, withdrawal and fee settings it keeps. Every participant (old dealers and new operators) checks its hash
 * before the ceremony, as for a DKG.
 */
export interface ReshareDefinitionOptions {
  oldLock: ClusterLock;
  /** PEERID@HOST:PORT of every new operator, in new operator order; an old operator that stays keeps its peer id. */
  operators: string[];
  threshold?: number;
  /** Old operator indices that deal their shares (default: all); at least the old threshold. */
  dealers?: number[];
  /** The epoch from which the new lock signs (default 0: at once, for a stopped cluster). */
  switchEpoch?: number;
  name?: string;
}

const problem = (field: string, reason: string) =>
  new DefinitionError({code: "DEFINITION_BAD_OPTION", option: field, reason}, `${field}: ${reason}`);

/** Why the dealers cannot reshare the lock, or undefined: old indices, distinct, at least the old threshold. */
export function dealersProblem(dealers: number[], oldLock: ClusterLock): string | undefined {
  const n = oldLock.operators.length;
  const bad = dealers.find((d) => !Number.isInteger(d) || d < 1 || d > n);
  if (bad !== undefined) return `${bad} is no operator of the old lock (1..${n})`;
  if (new Set(dealers).size !== dealers.length) return "an operator appears twice";
  if (dealers.length < oldLock.threshold)
    return `${dealers.length} old operator(s) cannot reshare keys that need ${oldLock.threshold} shares`;
  return undefined;
}

export function buildReshareDefinition(o: ReshareDefinitionOptions): {definition: ClusterDefinition; warning?: string} {
  const {oldLock} = o;
  const first = oldLock.validators[0] as ClusterLock["validators"][number];
  const creds = fromHex(first.withdrawal_credentials);
  const dealers = o.dealers ?? oldLock.operators.map((op) => op.index);
  const why = dealersProblem(dealers, oldLock);
  if (why !== undefined) throw problem("--dealers", why);
  const opts: DefinitionOptions = {
    operators: o.operators,
    threshold: o.threshold,
    validators: oldLock.validators.length,
    network: oldLock.network,
    // What the lock's validators were made with: the reshare changes keys' shares, never where money goes.
    withdrawalAddress: toHex(creds.subarray(12)),
    compounding: creds[0] === COMPOUNDING_WITHDRAWAL_PREFIX,
    feeRecipient: first.fee_recipient,
    gasLimit: first.gas_limit,
    name: o.name ?? oldLock.name,
  };
  const {definition, warning} = buildDefinition(opts);
  const {definition_hash: _, ...body} = definition;
  const switchEpoch = o.switchEpoch ?? 0;
  if (!Number.isInteger(switchEpoch) || switchEpoch < 0) throw problem("--switch-epoch", "a whole epoch number");
  const reshare = {
    lock_hash: oldLock.lock_hash,
    dealers: [...dealers].sort((a, b) => a - b),
    switch_epoch: switchEpoch,
  };
  const withReshare = {...body, reshare};
  return {definition: {...withReshare, definition_hash: computeDefinitionHash(withReshare)}, warning};
}

/** Everyone a reshare ceremony connects, numbered as its state machine counts them. */
export interface ReshareParticipants {
  /** New operators first (participant j = new operator j), then the dealers that leave, in old index order. */
  participants: LockOperator[];
  /** Participant -> old operator index, for every dealer. */
  dealers: Map<number, number>;
  /** Participants 1..receivers are the new operators. */
  receivers: number;
}

/**
 * The ceremony's participants from the definition and the old lock, the same on every machine. Throws when the
 * definition does not reshare this lock.
 */
export function reshareParticipants(definition: ClusterDefinition, oldLock: ClusterLock): ReshareParticipants {
  const reshare = definition.reshare;
  if (reshare === undefined) throw problem("--definition", "is a DKG definition, not a reshare (no reshare field)");
  if (reshare.lock_hash.toLowerCase() !== oldLock.lock_hash.toLowerCase()) {
    throw problem(
      "--old-lock",
      `the definition reshares lock ${reshare.lock_hash}, this lock is ${oldLock.lock_hash}; use the cluster's ` +
        "current cluster-lock.json",
    );
  }
  const why = dealersProblem(reshare.dealers, oldLock);
  if (why !== undefined) throw problem("reshare.dealers", why);
  const participants: LockOperator[] = definition.operators.map((op) => ({...op}));
  const dealers = new Map<number, number>();
  for (const d of [...reshare.dealers].sort((a, b) => a - b)) {
    const old = oldLock.operators[d - 1] as LockOperator;
    let p = participants.find((x) => x.peer_id === old.peer_id);
    if (p === undefined)
      participants.push((p = {index: participants.length + 1, peer_id: old.peer_id, address: old.address}));
    dealers.set(p.index, d);
  }
  return {participants, dealers, receivers: definition.operators.length};
}
