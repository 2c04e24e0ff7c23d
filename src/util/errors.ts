/**
 * Every error a user can meet carries a typed `code` and the structured context that explains it, after
 * Lodestar's `LodestarError<{code: ...}>`: callers switch on `type.code`, logs print `type` as context.
 */
export class R3dvError<T extends {code: string}> extends Error {
  readonly type: T;

  constructor(type: T, message?: string) {
    super(message ?? type.code);
    this.type = type;
    this.name = new.target.name;
  }

  get code(): T["code"] {
    return this.type.code;
  }

  /** Context for a structured log line; never contains secrets, by construction of every `type`. */
  toJSON(): Record<string, unknown> {
    return {...this.type, message: this.message};
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
