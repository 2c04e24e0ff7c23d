import {R3dvError} from "../../util/errors.js";

/** Why a signing was refused. Every code is a signature that would (or could, after a lost history) be slashable. */
export type SlashingErrorType =
  | {code: "SLASHING_DOUBLE_PROPOSAL"; pubkey: string; slot: number; existingRoot: string | null}
  | {code: "SLASHING_BLOCK_BELOW_WATERMARK"; pubkey: string; slot: number; watermarkSlot: number}
  | {
      code: "SLASHING_DOUBLE_VOTE";
      pubkey: string;
      targetEpoch: number;
      existingSource: number;
      existingRoot: string | null;
    }
  | {
      code: "SLASHING_SURROUNDING_VOTE";
      pubkey: string;
      sourceEpoch: number;
      targetEpoch: number;
      surrounded: {sourceEpoch: number; targetEpoch: number};
    }
  | {
      code: "SLASHING_SURROUNDED_VOTE";
      pubkey: string;
      sourceEpoch: number;
      targetEpoch: number;
      surrounding: {sourceEpoch: number; targetEpoch: number};
    }
  | {
      code: "SLASHING_ATTESTATION_BELOW_WATERMARK";
      pubkey: string;
      sourceEpoch: number;
      targetEpoch: number;
      watermarkSource: number;
      watermarkTarget: number;
    }
  | {code: "SLASHING_SOURCE_AFTER_TARGET"; pubkey: string; sourceEpoch: number; targetEpoch: number};

export class SlashingProtectionError extends R3dvError<SlashingErrorType> {}

export type InterchangeErrorType =
  | {code: "INTERCHANGE_MALFORMED"; field: string; reason: string}
  | {code: "INTERCHANGE_VERSION"; version: string}
  | {code: "INTERCHANGE_GENESIS_MISMATCH"; expected: string; actual: string};

export class InterchangeError extends R3dvError<InterchangeErrorType> {}
