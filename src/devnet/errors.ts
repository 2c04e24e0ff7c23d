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

/** Runs `fn` on every submitted item; one bad item does not hide the others: the 400 lists them all. */
export function rejectFailures<T>(items: T[], fn: (item: T) => void): void {
  rejectRefusals(
    items.map((item) => {
      try {
        fn(item);
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    }),
  );
}

/** A submission's refusal per item (undefined when taken): a 400 listing every refused item, if any. */
export function rejectRefusals(refusals: (string | undefined)[]): void {
  const failures = refusals.flatMap((why, i) => (why === undefined ? [] : [`index ${i}: ${why}`]));
  if (failures.length > 0) reject(`some submissions were refused: ${failures.join("; ")}`);
}

export function notFound(what: string): never {
  throw new DevnetError({code: "DEVNET_NOT_FOUND", what}, `${what} not found`);
}
