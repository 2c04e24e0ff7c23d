import {R3dvError} from "../../../util/errors.js";
import {DUTY_TYPE_NAMES, type DutyType} from "../dutyTypes.js";

/**
 * A slot in decimal as `String(slot)` writes it: no sign, space or leading zero. Instances are keyed by the
 * id string, so `attester/0100` beside `attester/100` would be a second instance for the same slot.
 */
const CANONICAL_SLOT = /^(0|[1-9][0-9]*)$/;

/** Why an id was refused: a fixed set, so the refusal metric's `reason` label stays small whatever peers send. */
export type InstanceIdReason = "not <duty>/<slot>" | "unknown duty" | "slot not canonical" | "slot beyond 2^53";

export type InstanceIdErrorType = {code: "QBFT_INSTANCE_ID_NONCANONICAL"; instance: string; reason: InstanceIdReason};
export class InstanceIdError extends R3dvError<InstanceIdErrorType> {}

/** Longest id quoted in an error: a hostile peer's id can be 64 KiB, and logs should not carry it whole. */
const QUOTE_MAX = 64;

export function instanceId(duty: DutyType, slot: number): string {
  return `${duty}/${slot}`;
}

/** The duty and slot of a canonical id (exactly what `instanceId` writes); anything else is refused. */
export function parseInstanceId(instance: string): {duty: DutyType; slot: number} {
  const refuse = (reason: InstanceIdReason): never => {
    throw new InstanceIdError(
      {code: "QBFT_INSTANCE_ID_NONCANONICAL", instance: instance.slice(0, QUOTE_MAX), reason},
      `consensus instance id refused (${reason}): ids are "<duty>/<slot>" as r3dv writes them, e.g. "attester/100"`,
    );
  };
  const parts = instance.split("/");
  if (parts.length !== 2) return refuse("not <duty>/<slot>");
  const [duty, slotText] = parts as [string, string];
  if (!(DUTY_TYPE_NAMES as readonly string[]).includes(duty)) return refuse("unknown duty");
  if (!CANONICAL_SLOT.test(slotText)) return refuse("slot not canonical");
  const slot = Number(slotText);
  if (!Number.isSafeInteger(slot)) return refuse("slot beyond 2^53");
  return {duty: duty as DutyType, slot};
}
