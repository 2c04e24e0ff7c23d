/**
 * Wraps an ethereumjs state manager so that every account and storage slot a run of the VM reads or writes is
 * written down: what a stateless verifier must have proven before it runs a block (the execution witness's keys).
 * Every state manager method names the account first, and the storage methods the slot second. Hand-written
 * because ethereumjs records accesses only for its own verkle and binary-tree witnesses, not for a Merkle state.
 */
export interface AccessRecord {
  /** Accounts touched, 0x lowercase hex, each with the storage slots (0x, 32 bytes) touched in it. */
  touched: Map<string, Set<string>>;
  /** The first failure of a method of the wrapped manager (for a remote one: the endpoint's). */
  failure: unknown;
}

export function recordStateAccess<T extends object>(sm: T): {manager: T; record: AccessRecord} {
  const record: AccessRecord = {touched: new Map(), failure: undefined};
  const note = (address: unknown, slot?: unknown): void => {
    const key = addressKey(address);
    if (key === undefined) return;
    const slots = record.touched.get(key) ?? new Set<string>();
    if (slot instanceof Uint8Array) slots.add(`0x${Buffer.from(slot).toString("hex").padStart(64, "0")}`);
    record.touched.set(key, slots);
  };
  const manager = new Proxy(sm, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "getStorage" || prop === "putStorage") note(args[0], args[1]);
        else note(args[0]);
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (out instanceof Promise)
          return out.catch((e: unknown) => {
            record.failure ??= e;
            throw e;
          });
        return out;
      };
    },
  });
  return {manager, record};
}

/** An ethereumjs Address (it has `bytes` of 20), as 0x lowercase hex; anything else is no account. */
function addressKey(v: unknown): string | undefined {
  const bytes = (v as {bytes?: unknown} | null)?.bytes;
  if (!(bytes instanceof Uint8Array) || bytes.length !== 20) return undefined;
  return `0x${Buffer.from(bytes).toString("hex")}`;
}
