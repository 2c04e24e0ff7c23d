import type {Logger} from "../../util/logger.js";
import type {BeaconReader} from "./beaconReader.js";

export interface HeadWatcherOptions {
  /** Listen to the node's event stream (`block` and `head`); false polls only. */
  events: boolean;
  /** How often the head is polled: the safety net under a stream that stalls without an error. */
  pollIntervalMs: number;
}

/**
 * Tells the follower of every block root the beacon node announces: from the SSE stream at once, and from a
 * poll of the head once per interval, which alone keeps the follower going when the stream is down (a node
 * without `/eth/v1/events`, a proxy that buffers it). A root heard twice is the follower's to skip.
 */
export class HeadWatcher {
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private readonly reader: BeaconReader,
    private readonly opts: HeadWatcherOptions,
    private readonly onRoot: (root: string) => void,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.opts.events) {
      this.reader
        .subscribe(this.abort.signal, this.onRoot, (e) =>
          this.logger.debug("beacon event stream failed; the head poll goes on", {url: this.reader.label}, e),
        )
        .catch((e: unknown) => this.logger.warn("beacon event stream not opened", {url: this.reader.label}, e));
    }
    this.timer = setInterval(() => void this.poll(), this.opts.pollIntervalMs);
    void this.poll();
  }

  stop(): void {
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    // One poll at a time: a node slower than the interval must not pile requests up on itself.
    if (this.polling || this.abort.signal.aborted) return;
    this.polling = true;
    try {
      this.onRoot(await this.reader.headRoot());
    } catch (e) {
      this.logger.debug("head poll failed", {url: this.reader.label}, e);
    } finally {
      this.polling = false;
    }
  }
}
