import {open, readFile, rename, writeFile} from "node:fs/promises";
import {dirname, join} from "node:path";
import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {R3dvError, errorMessage} from "../../../util/errors.js";
import type {Slashable} from "./signer.js";

/** In the node's data dir: the epoch from which this node signs nothing more for its lock (`r3dv retire`). */
export const RETIREMENT_FILE = "retirement.json";

export type SigningTermErrorType =
  | {code: "RETIRE_LATER_THAN_BEFORE"; epoch: number; retiredAt: number}
  | {code: "RETIRE_BAD_EPOCH"; epoch: number}
  | {code: "RETIREMENT_UNREADABLE"; file: string; reason: string};
export class SigningTermError extends R3dvError<SigningTermErrorType> {}

interface Retirement {
  lock_hash: string;
  epoch: number;
}

/**
 * The epochs a node signs in for its lock. After a reshare, two locks hold shares of the same validator keys: the
 * old one must sign nothing from the switch epoch on and the new one nothing before it, or the two clusters could
 * sign two different votes for one target epoch (a slashable double vote). A lock made by `r3dv reshare` starts
 * at its switch epoch; an old lock's node is retired at that epoch (`r3dv retire`), durably, so a restart keeps it
 * retired. The Signer refuses every slashable message outside the term whatever asks for it; the duty services
 * also skip the slots outside it, so they do not fail a duty for every slot of the other lock's term.
 */
export class SigningTerm {
  private constructor(
    private readonly file: string | undefined,
    private readonly lockHash: string,
    /** First epoch this lock signs in. */
    readonly fromEpoch: number,
    /** First epoch it no longer signs in, if retired. */
    private until: number | undefined,
  ) {}

  /**
   * The term of `lock` on the node whose data dir is `dataDir` (its retirement file read now); without a data dir
   * (tests of the layers above) a retirement lasts as long as the process.
   */
  static async load(lock: {lock_hash: string; reshared_from?: {switch_epoch: number}}, dataDir?: string) {
    const file = dataDir === undefined ? undefined : join(dataDir, RETIREMENT_FILE);
    let until: number | undefined;
    if (file !== undefined) {
      const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return undefined;
        throw unreadable(file, errorMessage(e));
      });
      if (text !== undefined) until = parseRetirement(text, file, lock.lock_hash);
    }
    return new SigningTerm(file, lock.lock_hash, lock.reshared_from?.switch_epoch ?? 0, until);
  }

  get untilEpoch(): number | undefined {
    return this.until;
  }

  /** Whether duties of `slot` are this lock's to sign. */
  covers(slot: number): boolean {
    const epoch = Math.floor(slot / SLOTS_PER_EPOCH);
    return epoch >= this.fromEpoch && (this.until === undefined || epoch < this.until);
  }

  /** Why the Signer must not sign this slashable message, or undefined. */
  refusal(s: Slashable): string | undefined {
    const epoch = s.kind === "attestation" ? s.targetEpoch : Math.floor(s.slot / SLOTS_PER_EPOCH);
    if (epoch < this.fromEpoch)
      return `epoch ${epoch} is before this lock's switch epoch ${this.fromEpoch}: the lock it reshared signs it`;
    if (this.until !== undefined && epoch >= this.until)
      return `this node was retired from epoch ${this.until} (r3dv retire): the reshared lock signs epoch ${epoch}`;
    return undefined;
  }

  /**
   * Signs nothing from `epoch` on, written and synced to disk before it returns. A retirement may move earlier,
   * never later: a later one could overlap the new lock's term.
   */
  async retire(epoch: number): Promise<void> {
    if (!Number.isInteger(epoch) || epoch < 0)
      throw new SigningTermError({code: "RETIRE_BAD_EPOCH", epoch}, `retire: ${epoch} is not an epoch number`);
    if (this.until !== undefined && epoch > this.until) {
      throw new SigningTermError(
        {code: "RETIRE_LATER_THAN_BEFORE", epoch, retiredAt: this.until},
        `this node is already retired from epoch ${this.until}; a retirement never moves later`,
      );
    }
    if (this.file !== undefined) {
      const body: Retirement = {lock_hash: this.lockHash, epoch};
      const tmp = `${this.file}.tmp`;
      await writeFile(tmp, JSON.stringify(body) + "\n", {mode: 0o600});
      const handle = await open(tmp, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.file);
      // The rename is durable once the folder is: a crash right after must not bring the node back unretired.
      const dir = await open(dirname(this.file), "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    }
    this.until = epoch;
  }
}

const unreadable = (file: string, reason: string) =>
  new SigningTermError(
    {code: "RETIREMENT_UNREADABLE", file, reason},
    `${file}: ${reason}; the node will not start without knowing whether it is retired (restore the file, or ` +
      "remove it only if this node was never retired)",
  );

function parseRetirement(text: string, file: string, lockHash: string): number | undefined {
  let r: Partial<Retirement>;
  try {
    r = JSON.parse(text) as Partial<Retirement>;
  } catch (e) {
    throw unreadable(file, `not JSON: ${errorMessage(e)}`);
  }
  if (typeof r.lock_hash !== "string" || !Number.isInteger(r.epoch) || (r.epoch as number) < 0)
    throw unreadable(file, "expected {lock_hash, epoch}");
  // A data dir reused for another lock: that lock's retirement says nothing about this one.
  return r.lock_hash.toLowerCase() === lockHash.toLowerCase() ? r.epoch : undefined;
}
