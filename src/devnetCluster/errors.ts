import {R3dvError} from "../util/errors.js";

export type DevnetRunErrorType =
  | {code: "DEVNET_BAD_OPTION"; option: string; reason: string}
  | {code: "DEVNET_RUN_START_FAILED"; process: string; reason: string}
  | {code: "DEVNET_RUN_BEACON_FAILED"; request: string; reason: string}
  | {code: "DEVNET_RUN_INTERRUPTED"; signal: string}
  | {code: "DEVNET_RUN_TARGETS_MISSED"; failed: string[]; report: string};

/**
 * `r3dv devnet` errors. A bad flag shares the devnet's DEVNET_BAD_OPTION code, so the CLI answers it with the
 * usage exit code 2 like every other bad flag.
 */
export class DevnetRunError extends R3dvError<DevnetRunErrorType> {}

export function badOption(option: string, reason: string): DevnetRunError {
  return new DevnetRunError({code: "DEVNET_BAD_OPTION", option, reason}, `${option}: ${reason}`);
}
