import {R3dvError} from "../../../util/errors.js";

export type BeaconErrorType =
  | {code: "BEACON_UNREACHABLE"; urls: string[]; reason: string}
  | {code: "BEACON_BAD_RESPONSE"; url: string; route: string; status?: number; reason: string}
  | {code: "BEACON_PRESET_MISMATCH"; url: string; nodePreset: string; localPreset: string}
  | {code: "BEACON_REFUSED"; url: string; route: string; status: number; reason: string}
  | {code: "BEACON_ABANDONED"; url: string; route: string};

export class BeaconError extends R3dvError<BeaconErrorType> {}
