/**
 * The bounded inbound queue: admitted chunks wait here for their series write. Priorities (the limiters'
 * product, in [0, 1]) fall into PRIORITY_LEVELS buckets; the highest bucket is served first, and within a
 * bucket peers take turns, so a flooding peer only ever delays itself. The queue is bounded in items and in
 * bytes (a thousand 1 MiB chunks are not "a thousand chunks"); when either bound is passed the newest item of
 * the peer holding the most bytes in the lowest bucket is dropped, until both hold again: lowest priority
 * first, flooder first.
 */
export const PRIORITY_LEVELS = 10;

export interface Queued<T> {
  peer: number;
  priority: number;
  item: T;
  /** What the item weighs against the byte bound (its encoded size); 0 when only the item count matters. */
  bytes?: number;
}

/**
 * A queue with O(1) shift. A consumed slot is cleared at once: an item is a chunk holding its bytes, and a
 * consumed prefix that still referenced them kept every written chunk of a peer alive until the prefix was
 * reclaimed, up to a thousand per peer and priority (with the DHT's records, 116 MB of a devnet node's live
 * buffers after six minutes of 2 s slots).
 */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  bytes = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      // Drained, as the queue is most of the time: start over on an empty array.
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      // Reclaim the consumed prefix once it is half the array: amortised O(1), no unbounded growth.
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  pop(): T | undefined {
    return this.length > 0 ? this.items.pop() : undefined;
  }
}

class Bucket<T> {
  readonly byPeer = new Map<number, Fifo<Queued<T>>>();
  private order: number[] = [];
  private turn = 0;
  size = 0;

  push(q: Queued<T>): void {
    let f = this.byPeer.get(q.peer);
    if (!f) {
      f = new Fifo();
      this.byPeer.set(q.peer, f);
      this.order.push(q.peer);
    }
    f.push(q);
    f.bytes += q.bytes ?? 0;
    this.size++;
  }

  /** Round robin over peers with queued items. */
  shift(): Queued<T> | undefined {
    for (let i = 0; i < this.order.length; i++) {
      this.turn = (this.turn + 1) % this.order.length;
      const f = this.byPeer.get(this.order[this.turn] as number);
      const q = f?.shift();
      if (f && q) {
        f.bytes -= q.bytes ?? 0;
        this.size--;
        return q;
      }
    }
    return undefined;
  }

  /** Drops the newest item of the peer holding the most bytes (the most items, when bytes tie). */
  dropNewestOfBusiest(): Queued<T> | undefined {
    let busiest: Fifo<Queued<T>> | undefined;
    for (const f of this.byPeer.values()) {
      if (!busiest || f.bytes > busiest.bytes || (f.bytes === busiest.bytes && f.length > busiest.length)) busiest = f;
    }
    const q = busiest?.pop();
    if (busiest && q) {
      busiest.bytes -= q.bytes ?? 0;
      this.size--;
    }
    return q;
  }
}

export class InboundQueue<T> {
  private readonly buckets: Bucket<T>[] = Array.from({length: PRIORITY_LEVELS}, () => new Bucket<T>());
  private count = 0;
  private queuedBytes = 0;

  constructor(
    readonly capacity: number,
    readonly capacityBytes = Number.POSITIVE_INFINITY,
  ) {}

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  private level(priority: number): number {
    return Math.min(PRIORITY_LEVELS - 1, Math.max(0, Math.floor(priority * PRIORITY_LEVELS)));
  }

  /**
   * Enqueues; when a bound is passed, returns what lost its place (possibly the new item itself), lowest
   * priority first and, within a priority, the busiest peer's newest. Empty when nothing was dropped.
   */
  push(q: Queued<T>): Queued<T>[] {
    (this.buckets[this.level(q.priority)] as Bucket<T>).push(q);
    this.count++;
    this.queuedBytes += q.bytes ?? 0;
    const dropped: Queued<T>[] = [];
    while (this.count > this.capacity || this.queuedBytes > this.capacityBytes) {
      const lowest = this.buckets.find((b) => b.size > 0);
      const d = lowest?.dropNewestOfBusiest();
      if (!d) break;
      this.count--;
      this.queuedBytes -= d.bytes ?? 0;
      dropped.push(d);
      // The queue held within its bounds before this push: once the new item itself is out, it does again.
      if (d === q) break;
    }
    return dropped;
  }

  shift(): Queued<T> | undefined {
    for (let l = PRIORITY_LEVELS - 1; l >= 0; l--) {
      const b = this.buckets[l] as Bucket<T>;
      if (b.size > 0) {
        const q = b.shift();
        if (q) {
          this.count--;
          this.queuedBytes -= q.bytes ?? 0;
        }
        return q;
      }
    }
    return undefined;
  }
}
