/**
 * The bounded inbound queue: admitted chunks wait here for their series write. Priorities (the limiters'
 * product, in [0, 1]) fall into PRIORITY_LEVELS buckets; the highest bucket is served first, and within a
 * bucket peers take turns, so a flooding peer only ever delays itself. When the queue is full the newest
 * item of the busiest peer in the lowest bucket is dropped: lowest priority first, flooder first.
 */
export const PRIORITY_LEVELS = 10;

export interface Queued<T> {
  peer: number;
  priority: number;
  item: T;
}

class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head++];
    // Reclaim the consumed prefix once it is half the array: amortised O(1), no unbounded growth.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
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
    this.size++;
  }

  /** Round robin over peers with queued items. */
  shift(): Queued<T> | undefined {
    for (let i = 0; i < this.order.length; i++) {
      this.turn = (this.turn + 1) % this.order.length;
      const peer = this.order[this.turn] as number;
      const q = this.byPeer.get(peer)?.shift();
      if (q) {
        this.size--;
        return q;
      }
    }
    return undefined;
  }

  /** Drops the newest item of the peer with the most queued; with `incoming`, that peer's count includes it. */
  dropNewestOfBusiest(incoming?: number): Queued<T> | undefined | "incoming" {
    let busiest: Fifo<Queued<T>> | undefined;
    let busiestPeer = -1;
    for (const [peer, f] of this.byPeer) {
      if (!busiest || f.length > busiest.length) {
        busiest = f;
        busiestPeer = peer;
      }
    }
    if (incoming !== undefined && (busiest === undefined || busiestPeer === incoming || (this.byPeer.get(incoming)?.length ?? 0) + 1 > busiest.length)) {
      return "incoming";
    }
    const q = busiest?.pop();
    if (q) this.size--;
    return q;
  }
}

export class InboundQueue<T> {
  private readonly buckets: Bucket<T>[] = Array.from({length: PRIORITY_LEVELS}, () => new Bucket<T>());
  private count = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.count;
  }

  private level(priority: number): number {
    return Math.min(PRIORITY_LEVELS - 1, Math.max(0, Math.floor(priority * PRIORITY_LEVELS)));
  }

  /**
   * Enqueues; when full, returns what lost its place: the lowest-priority item (possibly the new one).
   * Returns undefined when nothing was dropped.
   */
  push(q: Queued<T>): Queued<T> | undefined {
    const level = this.level(q.priority);
    if (this.count >= this.capacity) {
      let lowest = 0;
      while (lowest < PRIORITY_LEVELS && (this.buckets[lowest] as Bucket<T>).size === 0) lowest++;
      if (lowest > level) return q;
      // Same level: the peer with the most queued pays, which is the flooder, not the peer that sends one chunk.
      const dropped = (this.buckets[lowest] as Bucket<T>).dropNewestOfBusiest(lowest === level ? q.peer : undefined);
      if (dropped === "incoming") return q;
      (this.buckets[level] as Bucket<T>).push(q);
      return dropped;
    }
    (this.buckets[level] as Bucket<T>).push(q);
    this.count++;
    return undefined;
  }

  shift(): Queued<T> | undefined {
    for (let l = PRIORITY_LEVELS - 1; l >= 0; l--) {
      const b = this.buckets[l] as Bucket<T>;
      if (b.size > 0) {
        this.count--;
        return b.shift();
      }
    }
    return undefined;
  }
}
