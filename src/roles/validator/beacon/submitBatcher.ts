/**
 * Collects items submitted in the same tick into one beacon node request: every validator's signature of a
 * slot is recovered within a few milliseconds of the others, and one request per slot instead of one per
 * validator keeps the beacon node's load and the duty's latency down. Each `add` settles with its own item:
 * `submit` may resolve with the items (by position) no beacon node took, and those are rejected alone.
 */
export class SubmitBatcher<T> {
  private queue: {item: T; resolve: () => void; reject: (e: unknown) => void}[] = [];

  constructor(private readonly submit: (items: T[]) => Promise<void | ReadonlyMap<number, unknown>>) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({item, resolve, reject});
      if (this.queue.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    try {
      const failed = await this.submit(batch.map((b) => b.item));
      batch.forEach((b, i) => (failed?.has(i) ? b.reject(failed.get(i)) : b.resolve()));
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }
}
