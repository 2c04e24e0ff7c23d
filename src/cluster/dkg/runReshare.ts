import {randomBytes} from "node:crypto";
import {readdir} from "node:fs/promises";
import {join, resolve} from "node:path";
import {fromHex} from "../../hotpath/bytes.js";
import {initHerumi} from "../../hotpath/herumi.js";
import {loadShareKeys} from "../../roles/validator/signing/shareKeys.js";
import {LOCK_FILE} from "../createCluster.js";
import type {ClusterDefinition} from "../definitionSchema.js";
import {IDENTITY_FILE, loadIdentity} from "../identity.js";
import {loadLock} from "../lock.js";
import type {ClusterLock} from "../lockSchema.js";
import {reshareParticipants} from "../reshareDefinition.js";
import {identityAuthenticator} from "./authenticator.js";
import {DkgCeremony} from "./ceremony.js";
import {type DkgOutput, LockRound} from "./lockRound.js";
import type {DkgResult} from "./outcome.js";
import {reshareRoles} from "./roles.js";
import {runCeremony} from "./runCeremony.js";
import {type CeremonyRunOptions, OUTPUTS, RunDkgError, writeOutput} from "./runDkg.js";

export interface RunReshareOptions extends CeremonyRunOptions {
  /** The reshare's definition (create-definition --reshare-from). */
  definition: ClusterDefinition;
  /** This operator's node dir: identity.key, and for an old operator its lock and share keystores. */
  nodeDir: string;
  /** The lock being reshared; default NODE_DIR/cluster-lock.json. A new operator gets it from the others. */
  oldLock?: string;
  /** Where a new operator's node dir is written; default NODE_DIR when it holds no lock or keys. */
  outDir?: string;
}

export interface ReshareOutcome {
  result: DkgResult;
  /** This participant's number in the ceremony, its old and new operator index (undefined: not in that lock). */
  self: number;
  oldIndex?: number;
  newIndex?: number;
  /** The new lock and deposits, for a new operator; undefined for an old operator that leaves. */
  output?: DkgOutput;
  outDir?: string;
}

/**
 * One participant's side of a reshare: the old operators named by the definition deal their shares of every
 * validator, the new operators receive new shares of the same keys, and the new operators sign a new lock that
 * names the old one. A new operator's node dir gets identity.key, cluster-lock.json, validator_keys/ and
 * deposit-data.json (the deposits signed again with the new shares, the same as before); nothing is written
 * unless the whole ceremony succeeds, and an old node dir is never touched.
 */
export async function runReshare(opts: RunReshareOptions): Promise<ReshareOutcome> {
  const {definition} = opts;
  const nodeDir = resolve(opts.nodeDir);
  const identity = await loadIdentity(join(nodeDir, IDENTITY_FILE));
  const oldLock = await loadLock(opts.oldLock ?? join(nodeDir, LOCK_FILE));
  const {participants, dealers, receivers} = reshareParticipants(definition, oldLock);
  const self = participants.find((p) => p.peer_id === identity.peerId)?.index;
  if (self === undefined) {
    throw new RunDkgError(
      {code: "DKG_NOT_AN_OPERATOR", peerId: identity.peerId},
      `this node (${identity.peerId}) is neither a new operator nor a dealing old operator of the reshare; check ` +
        "--node-dir and the definition's operators and dealers",
    );
  }
  const oldIndex = oldLock.operators.find((o) => o.peer_id === identity.peerId)?.index;
  const receives = self <= receivers;
  const outDir = receives ? await outputDir(nodeDir, opts.outDir) : undefined;
  await initHerumi();
  const dealing = dealers.get(self);
  const ownSecrets =
    dealing === undefined ? undefined : (await loadShareKeys(oldLock, nodeDir, dealing)).map((k) => k.secret);
  const auth = identityAuthenticator(
    identity.privateKey,
    participants.map((p) => p.peer_id),
  );
  const newCeremony = () =>
    new DkgCeremony({
      definitionHash: fromHex(definition.definition_hash),
      operators: participants.length,
      threshold: definition.threshold,
      validators: oldLock.validators.length,
      self,
      auth,
      random: (n) => new Uint8Array(randomBytes(n)),
      roles: reshareRoles({
        dealers,
        receivers,
        oldThreshold: oldLock.threshold,
        validators: oldValidators(oldLock),
        ownSecrets,
      }),
    });
  try {
    const {result, output} = await runCeremony({
      ...opts,
      network: {...definition, operators: participants},
      self,
      privateKey: identity.privateKey,
      newCeremony,
      lockRound: (result) => (receives ? new LockRound(definition, result, self, auth, oldLock) : undefined),
      signers: Array.from({length: receivers}, (_, k) => k + 1),
    });
    if (output !== undefined && outDir !== undefined) {
      const identityCopy = outDir === nodeDir ? undefined : identity.privateKey;
      await writeOutput(outDir, output, result, self, definition, opts.kdf, identityCopy);
    }
    return {result, self, oldIndex, newIndex: receives ? self : undefined, output, outDir};
  } finally {
    for (const s of ownSecrets ?? []) s.fill(0);
  }
}

function oldValidators(lock: ClusterLock): {pubkey: Uint8Array; sharePubkeys: Uint8Array[]}[] {
  return lock.validators.map((v) => ({
    pubkey: fromHex(v.pubkey),
    sharePubkeys: v.share_pubkeys.map((h) => fromHex(h)),
  }));
}

/** The new node dir: --out-dir, or the node dir itself when it holds no lock or keys (a new operator's). */
async function outputDir(nodeDir: string, out: string | undefined): Promise<string> {
  const dir = out === undefined ? nodeDir : resolve(out);
  const entries = await readdir(dir).catch(() => [] as string[]);
  const found = OUTPUTS.filter((f) => entries.includes(f));
  if (found.length > 0) {
    const hint = out === undefined ? "this operator already runs the old lock here: give --out-dir" : "use a new dir";
    throw new RunDkgError(
      {code: "DKG_NODE_DIR_NOT_EMPTY", nodeDir: dir, found},
      `${dir} already holds ${found.join(", ")}: r3dv never overwrites keys; ${hint}`,
    );
  }
  return dir;
}
