import {type Database, type RootDatabase, open} from "lmdb";
import type {z} from "zod";
import {R3dvError, errorMessage} from "../../util/errors.js";
import {InterchangeError, SlashingProtectionError} from "./errors.js";
import {INTERCHANGE_VERSION, type Interchange, interchangeSchema} from "./interchangeSchema.js";

/** Folder of the slashing-protection LMDB environment inside a node's data dir: its own file, never compacted. */
export const SLASHING_DB_DIR = "slashing-protection";

/**
 * The highest block slot and attestation source/target a validator's share has signed (or imported). New
 * signatures must move strictly past them (repeats of the identical message excepted): this makes surround
 * votes and double proposals impossible in O(1), even for history that was pruned or never exported
 * (Teku's and Lighthouse's "low watermark", stricter than EIP-3076's minimum and allowed by it).
 */
interface Watermark {
  blockSlot: number | null;
  sourceEpoch: number | null;
  targetEpoch: number | null;
}

interface SignedAttestation {
  sourceEpoch: number;
  signingRoot: string | null;
}

export interface AttestationRequest {
  pubkey: string;
  sourceEpoch: number;
  targetEpoch: number;
  signingRoot: string;
}

export interface BlockRequest {
  pubkey: string;
  slot: number;
  signingRoot: string;
}

/** Outcome of a check-and-insert: `signed` (recorded now), `repeat` (the identical message was signed before). */
export type SigningVerdict = {ok: true; repeat: boolean} | {ok: false; error: SlashingProtectionError};

// Key layout (lmdb ordered-binary keys, so ranges sort by number): one record per signed message and one
// watermark per validator. Pubkeys are lower-case 0x hex.
const attKey = (pk: string, target: number) => ["att", pk, target];
const blockKey = (pk: string, slot: number) => ["blk", pk, slot];
const wmKey = (pk: string) => ["wm", pk];
const GVR_KEY = ["meta", "genesis_validators_root"];

const MAX_EPOCH = Number.MAX_SAFE_INTEGER;

/**
 * Tries of one check-and-insert whose commit LMDB refused. lmdb 3.5.6's own free-space bookkeeping fails a commit
 * now and then under a heavy write load ("MDB_BAD_TXN: ... reserved freelist had a data entry with zero-size":
 * once in a 12-minute run at 10,000 validators here, which refused a whole slot's 149 attestations; lmdb-js issues
 * #321 and HarperFast/harper#686 report the same family). A failed commit aborts the whole transaction, so the next
 * try runs the same checks on the same state; the one after it succeeded in every case seen. Three, so a
 * persistent failure (a broken disk) still refuses within a few milliseconds.
 */
const COMMIT_TRIES = 3;

/** An error LMDB itself raised (lmdb-js sets its numeric status as `code`; the project's errors have string codes). */
function isLmdbStatus(e: unknown): e is Error & {code: number} {
  return e instanceof Error && typeof (e as {code?: unknown}).code === "number";
}

export interface SlashingProtectionEvents {
  /** A commit LMDB refused and that is tried again (`attempt` is the one that failed, from 1). */
  commitRetried?(attempt: number, error: Error): void;
}

export type SlashingDbErrorType = {code: "SLASHING_DB_OPEN_FAILED"; path: string; reason: string};
export class SlashingDbError extends R3dvError<SlashingDbErrorType> {}

/**
 * EIP-3076 slashing protection in LMDB. Every check-and-insert runs inside one LMDB write transaction
 * (serialised across threads and processes by LMDB's writer lock) and its promise resolves only once the
 * commit is durable on disk: callers release a signature only after `await`ing an `ok` verdict.
 */
export class SlashingProtection {
  /** `open` is the way in; the constructor takes an opened environment (a test may watch the db's flushes). */
  constructor(
    private readonly env: RootDatabase,
    private readonly db: Database,
    private readonly events: SlashingProtectionEvents = {},
  ) {}

  static open(path: string, events: SlashingProtectionEvents = {}): SlashingProtection {
    try {
      const env = open({path, compression: false});
      return new SlashingProtection(env, env.openDB({name: "slashing", encoding: "msgpack"}), events);
    } catch (e) {
      throw new SlashingDbError(
        {code: "SLASHING_DB_OPEN_FAILED", path, reason: errorMessage(e)},
        `cannot open slashing protection DB at ${path}: ${errorMessage(e)}`,
      );
    }
  }

  async close(): Promise<void> {
    await this.env.close();
  }

  genesisValidatorsRoot(): string | undefined {
    return this.db.get(GVR_KEY) as string | undefined;
  }

  /** Binds the DB to one chain on first use; refuses another chain's root ever after. */
  async ensureGenesisValidatorsRoot(root: string): Promise<void> {
    const gvr = root.toLowerCase();
    await this.durably(() => {
      const existing = this.genesisValidatorsRoot();
      if (existing === undefined) void this.db.put(GVR_KEY, gvr);
      else if (existing !== gvr) {
        throw new InterchangeError(
          {code: "INTERCHANGE_GENESIS_MISMATCH", expected: existing, actual: gvr},
          `slashing protection DB belongs to the chain with genesis validators root ${existing}, not ${gvr}: ` +
            `use the data dir of this chain`,
        );
      }
    });
  }

  /** Checks and records a batch of attestations in one durable commit (a slot's duties for all validators). */
  async checkAndInsertAttestations(reqs: AttestationRequest[]): Promise<SigningVerdict[]> {
    return this.durably(() =>
      reqs.map((r) =>
        this.attestationInTxn({...r, pubkey: r.pubkey.toLowerCase(), signingRoot: r.signingRoot.toLowerCase()}),
      ),
    );
  }

  async checkAndInsertAttestation(req: AttestationRequest): Promise<void> {
    const [verdict] = await this.checkAndInsertAttestations([req]);
    if (verdict && !verdict.ok) throw verdict.error;
  }

  async checkAndInsertBlock(req: BlockRequest): Promise<{repeat: boolean}> {
    const verdict = await this.durably(() =>
      this.blockInTxn({...req, pubkey: req.pubkey.toLowerCase(), signingRoot: req.signingRoot.toLowerCase()}),
    );
    if (!verdict.ok) throw verdict.error;
    return {repeat: verdict.repeat};
  }

  /**
   * Runs `txn` in a write transaction and resolves once its commit is on disk. lmdb-js commits with
   * `overlappingSync` (its default off Windows): a commit can be visible while its fsync finishes later,
   * outside the writer lock. A verdict released then could let a signature leave the node while its record is
   * still only in the page cache; a power cut would then forget it and the node could sign a conflicting
   * message after restart. So the verdict also waits for `db.flushed`, read right after the commit so it is
   * this transaction's flush (or a later one, which covers it).
   */
  private async durably<T>(txn: () => T): Promise<T> {
    // transactionSync, not transaction: the check and the record must run under LMDB's write lock, reading
    // what the write transaction sees. With lmdb-js's asynchronous transaction two processes sharing one DB
    // were both allowed the same target about once in five runs of the cross-process test (a double vote);
    // with the synchronous one, never in 40. It holds the event loop for one commit (a few ms a slot).
    const result = this.commitWithRetries(txn);
    await new Promise<void>((resolve, reject) => void this.db.flushed.then(() => resolve(), reject));
    return result;
  }

  /**
   * `transactionSync(txn)`, tried again when LMDB refuses the commit (COMMIT_TRIES). Errors `txn` throws itself
   * (a genesis mismatch) are not LMDB's and pass through at once.
   */
  private commitWithRetries<T>(txn: () => T): T {
    for (let attempt = 1; ; attempt++) {
      try {
        return this.db.transactionSync(txn);
      } catch (e) {
        if (!isLmdbStatus(e) || attempt >= COMMIT_TRIES) throw e;
        this.events.commitRetried?.(attempt, e);
      }
    }
  }

  private watermark(pk: string): Watermark {
    return (this.db.get(wmKey(pk)) as Watermark | undefined) ?? {blockSlot: null, sourceEpoch: null, targetEpoch: null};
  }

  private attestationInTxn(r: AttestationRequest): SigningVerdict {
    const {pubkey, sourceEpoch, targetEpoch, signingRoot} = r;
    const refuse = (type: ConstructorParameters<typeof SlashingProtectionError>[0], msg: string): SigningVerdict => ({
      ok: false,
      error: new SlashingProtectionError(type, msg),
    });
    if (sourceEpoch > targetEpoch) {
      return refuse(
        {code: "SLASHING_SOURCE_AFTER_TARGET", pubkey, sourceEpoch, targetEpoch},
        `attestation source ${sourceEpoch} is after its target ${targetEpoch}`,
      );
    }
    const existing = this.db.get(attKey(pubkey, targetEpoch)) as SignedAttestation | undefined;
    if (existing) {
      if (existing.signingRoot === signingRoot && existing.sourceEpoch === sourceEpoch) return {ok: true, repeat: true};
      return refuse(
        {
          code: "SLASHING_DOUBLE_VOTE",
          pubkey,
          targetEpoch,
          existingSource: existing.sourceEpoch,
          existingRoot: existing.signingRoot,
        },
        `double vote: validator ${pubkey} already signed another attestation for target epoch ${targetEpoch}`,
      );
    }
    const wm = this.watermark(pubkey);
    if (
      (wm.sourceEpoch !== null && sourceEpoch < wm.sourceEpoch) ||
      (wm.targetEpoch !== null && targetEpoch <= wm.targetEpoch)
    ) {
      // Refused either way; scan the history (only on this rare path) to name a surround when there is one.
      return (
        this.classifyRefusal(r) ??
        refuse(
          {
            code: "SLASHING_ATTESTATION_BELOW_WATERMARK",
            pubkey,
            sourceEpoch,
            targetEpoch,
            watermarkSource: wm.sourceEpoch ?? -1,
            watermarkTarget: wm.targetEpoch ?? -1,
          },
          `attestation ${sourceEpoch}->${targetEpoch} is not past the last signed source ${wm.sourceEpoch} / target ${wm.targetEpoch}`,
        )
      );
    }
    void this.db.put(attKey(pubkey, targetEpoch), {sourceEpoch, signingRoot} satisfies SignedAttestation);
    void this.db.put(wmKey(pubkey), {...wm, sourceEpoch, targetEpoch} satisfies Watermark);
    return {ok: true, repeat: false};
  }

  private classifyRefusal(r: AttestationRequest): SigningVerdict | null {
    const {pubkey, sourceEpoch, targetEpoch} = r;
    for (const {key, value} of this.db.getRange({start: attKey(pubkey, 0), end: attKey(pubkey, MAX_EPOCH)})) {
      const prev = {
        sourceEpoch: (value as SignedAttestation).sourceEpoch,
        targetEpoch: (key as [string, string, number])[2],
      };
      if (sourceEpoch < prev.sourceEpoch && prev.targetEpoch < targetEpoch) {
        const error = new SlashingProtectionError(
          {code: "SLASHING_SURROUNDING_VOTE", pubkey, sourceEpoch, targetEpoch, surrounded: prev},
          `surround vote: ${sourceEpoch}->${targetEpoch} would surround the signed ${prev.sourceEpoch}->${prev.targetEpoch}`,
        );
        return {ok: false, error};
      }
      if (prev.sourceEpoch < sourceEpoch && targetEpoch < prev.targetEpoch) {
        const error = new SlashingProtectionError(
          {code: "SLASHING_SURROUNDED_VOTE", pubkey, sourceEpoch, targetEpoch, surrounding: prev},
          `surround vote: ${sourceEpoch}->${targetEpoch} would be surrounded by the signed ${prev.sourceEpoch}->${prev.targetEpoch}`,
        );
        return {ok: false, error};
      }
    }
    return null;
  }

  private blockInTxn(r: BlockRequest): SigningVerdict {
    const {pubkey, slot, signingRoot} = r;
    const existing = this.db.get(blockKey(pubkey, slot)) as {signingRoot: string | null} | undefined;
    if (existing) {
      if (existing.signingRoot === signingRoot) return {ok: true, repeat: true};
      return {
        ok: false,
        error: new SlashingProtectionError(
          {code: "SLASHING_DOUBLE_PROPOSAL", pubkey, slot, existingRoot: existing.signingRoot},
          `double proposal: validator ${pubkey} already signed another block at slot ${slot}`,
        ),
      };
    }
    const wm = this.watermark(pubkey);
    if (wm.blockSlot !== null && slot <= wm.blockSlot) {
      return {
        ok: false,
        error: new SlashingProtectionError(
          {code: "SLASHING_BLOCK_BELOW_WATERMARK", pubkey, slot, watermarkSlot: wm.blockSlot},
          `block at slot ${slot} is not after the last signed slot ${wm.blockSlot}`,
        ),
      };
    }
    void this.db.put(blockKey(pubkey, slot), {signingRoot});
    void this.db.put(wmKey(pubkey), {...wm, blockSlot: slot} satisfies Watermark);
    return {ok: true, repeat: false};
  }

  /** The complete history in EIP-3076 v5 form, for all validators or the given ones. */
  exportInterchange(pubkeys?: string[]): Interchange {
    const gvr = this.genesisValidatorsRoot();
    if (gvr === undefined) {
      throw new InterchangeError(
        {code: "INTERCHANGE_MALFORMED", field: "metadata.genesis_validators_root", reason: "unknown"},
        "nothing to export: this slashing protection DB was never used on a chain",
      );
    }
    const wanted = pubkeys?.map((p) => p.toLowerCase());
    const byPk = new Map<string, Interchange["data"][number]>();
    const entry = (pk: string) => {
      let e = byPk.get(pk);
      if (!e) byPk.set(pk, (e = {pubkey: pk, signed_blocks: [], signed_attestations: []}));
      return e;
    };
    for (const {key, value} of this.db.getRange({start: ["att"], end: ["att", "\uffff"]})) {
      const [, pk, target] = key as [string, string, number];
      const v = value as SignedAttestation;
      entry(pk).signed_attestations.push({
        source_epoch: String(v.sourceEpoch),
        target_epoch: String(target),
        ...(v.signingRoot ? {signing_root: v.signingRoot} : {}),
      });
    }
    for (const {key, value} of this.db.getRange({start: ["blk"], end: ["blk", "\uffff"]})) {
      const [, pk, slot] = key as [string, string, number];
      const v = value as {signingRoot: string | null};
      entry(pk).signed_blocks.push({slot: String(slot), ...(v.signingRoot ? {signing_root: v.signingRoot} : {})});
    }
    // A validator known only by its watermark (imported minimal history) still exports its bounds.
    for (const {key, value} of this.db.getRange({start: ["wm"], end: ["wm", "\uffff"]})) {
      const pk = (key as [string, string])[1];
      const wm = value as Watermark;
      const e = entry(pk);
      if (e.signed_blocks.length === 0 && wm.blockSlot !== null) e.signed_blocks.push({slot: String(wm.blockSlot)});
      if (e.signed_attestations.length === 0 && wm.sourceEpoch !== null && wm.targetEpoch !== null) {
        e.signed_attestations.push({source_epoch: String(wm.sourceEpoch), target_epoch: String(wm.targetEpoch)});
      }
    }
    const data = [...byPk.values()].filter((d) => !wanted || wanted.includes(d.pubkey));
    return {metadata: {interchange_format_version: INTERCHANGE_VERSION, genesis_validators_root: gvr}, data};
  }

  /**
   * Merges an EIP-3076 file: records are added (never replacing a different local record) and watermarks
   * only move up, so importing can make the node stricter, never looser. All-or-nothing in one commit.
   */
  async importInterchange(json: unknown): Promise<{validators: number; blocks: number; attestations: number}> {
    const parsed = interchangeSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0] as z.core.$ZodIssue;
      const field = issue.path.map(String).join(".") || "(root)";
      throw new InterchangeError(
        {code: "INTERCHANGE_MALFORMED", field, reason: issue.message},
        `interchange file: field ${field}: ${issue.message}`,
      );
    }
    const {metadata, data} = parsed.data;
    if (metadata.interchange_format_version !== INTERCHANGE_VERSION) {
      throw new InterchangeError(
        {code: "INTERCHANGE_VERSION", version: metadata.interchange_format_version},
        `interchange format version ${metadata.interchange_format_version} is not supported; export version ${INTERCHANGE_VERSION} from the old client`,
      );
    }
    await this.ensureGenesisValidatorsRoot(metadata.genesis_validators_root);
    let blocks = 0;
    let attestations = 0;
    await this.durably(() => {
      for (const v of data) {
        const pk = v.pubkey.toLowerCase();
        const wm = this.watermark(pk);
        for (const b of v.signed_blocks) {
          if (this.db.get(blockKey(pk, b.slot)) === undefined)
            void this.db.put(blockKey(pk, b.slot), {signingRoot: b.signing_root?.toLowerCase() ?? null});
          wm.blockSlot = Math.max(wm.blockSlot ?? b.slot, b.slot);
          blocks++;
        }
        for (const a of v.signed_attestations) {
          if (this.db.get(attKey(pk, a.target_epoch)) === undefined) {
            void this.db.put(attKey(pk, a.target_epoch), {
              sourceEpoch: a.source_epoch,
              signingRoot: a.signing_root?.toLowerCase() ?? null,
            } satisfies SignedAttestation);
          }
          wm.sourceEpoch = Math.max(wm.sourceEpoch ?? a.source_epoch, a.source_epoch);
          wm.targetEpoch = Math.max(wm.targetEpoch ?? a.target_epoch, a.target_epoch);
          attestations++;
        }
        void this.db.put(wmKey(pk), wm);
      }
    });
    return {validators: data.length, blocks, attestations};
  }
}
