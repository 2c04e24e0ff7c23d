import {pino, destination, type Logger as PinoLogger} from "pino";

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
const REDACT_PATHS = ["password", "secret", "secretKey", "privateKey", "share", "*.password", "*.secret", "*.secretKey", "*.privateKey", "*.share"];

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
export function createLogger(level: LogLevel = "info", module?: string): Logger {
  const log = pino({level, redact: {paths: REDACT_PATHS, censor: "[redacted]"}, base: module ? {module} : {}}, destination(2));
  return new PinoAdapter(log);
}
