import {R3dvError} from "../util/errors.js";

export type DevnetErrorType =
  | {code: "DEVNET_REJECTED"; reason: string}
  | {code: "DEVNET_NOT_FOUND"; what: string}
  | {code: "DEVNET_BAD_OPTION"; option: string; reason: string};

/** A refused submission or lookup; the API answers 400 (rejected) or 404 (not found) with the message. */
export class DevnetError extends R3dvError<DevnetErrorType> {}

export function reject(reason: string): never {
  throw new DevnetError({code: "DEVNET_REJECTED", reason}, reason);
}

export function notFound(what: string): never {
  throw new DevnetError({code: "DEVNET_NOT_FOUND", what}, `${what} not found`);
}
