import {R3dvError} from "./errors.js";
import {type DestinationStream, pino, destination, type Logger as PinoLogger} from "pino";

/** Lodestar's shape: `(message, context, error)`. Context is structured, never a formatted string. */
export interface Logger {
  error(message: string, context?: Record<string, unknown>, error?: unknown): void;
  warn(message: string, context?: Record<string, unknown>, error?: unknown): void;
  info(message: string, context?: Record<string, unknown>, error?: unknown): void;
  debug(message: string, context?: Record<string, unknown>, error?: unknown): void;
  child(context: Record<string, unknown>): Logger;
}

export type LogLevel = "error" | "warn" | "info" | "debug";

/**
 * Keys whose values are secrets anywhere in a log context. pino replaces them before serialising, so a
 * careless `logger.info("x", {keystore})` cannot leak a password or a key share.
 */
const REDACT_PATHS = [
  "password",
  "secret",
  "secretKey",
  "privateKey",
  "share",
  "*.password",
  "*.secret",
  "*.secretKey",
  "*.privateKey",
  "*.share",
];

/** Typed errors keep their `code` and structured context in the log line; pino's default would drop `type`. */
function serializeError(e: unknown): Record<string, unknown> {
  if (!(e instanceof Error)) return {message: String(e)};
  const typed = e instanceof R3dvError ? {code: e.code, context: e.type} : {};
  return {name: e.name, message: e.message, ...typed, stack: e.stack};
}

class PinoAdapter implements Logger {
  constructor(private readonly log: PinoLogger) {}

  error(message: string, context?: Record<string, unknown>, error?: unknown): void {
    this.log.error({...context, ...(error !== undefined ? {err: error} : {})}, message);
  }
  warn(message: string, context?: Record<string, unknown>, error?: unknown): void {
    this.log.warn({...context, ...(error !== undefined ? {err: error} : {})}, message);
  }
  info(message: string, context?: Record<string, unknown>, error?: unknown): void {
    this.log.info({...context, ...(error !== undefined ? {err: error} : {})}, message);
  }
  debug(message: string, context?: Record<string, unknown>, error?: unknown): void {
    this.log.debug({...context, ...(error !== undefined ? {err: error} : {})}, message);
  }
  child(context: Record<string, unknown>): Logger {
    return new PinoAdapter(this.log.child(context));
  }
}

/** JSON lines on stderr: stdout stays for a command's own output, so `r3dv ... | jq` keeps working. */
export function createLogger(
  level: LogLevel = "info",
  module?: string,
  dest: DestinationStream = destination(2),
): Logger {
  const log = pino(
    {
      level,
      serializers: {err: serializeError},
      redact: {paths: REDACT_PATHS, censor: "[redacted]"},
      base: module ? {module} : {},
    },
    dest,
  );
  return new PinoAdapter(log);
}
