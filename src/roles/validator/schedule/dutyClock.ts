import {parseInstanceId} from "../consensus/instanceId.js";

/**
 * Timers of a duty service: each fires once at an absolute time unless the service stopped first, and
 * stopping cancels every pending one. Shared by the attester, proposer and aggregator services.
 */
export class DutyTimers {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  get isStopped(): boolean {
    return this.stopped;
  }

  at(ms: number, f: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        if (!this.stopped) f();
      },
      Math.max(0, ms - Date.now()),
    );
    this.timers.add(t);
  }

  /** A promise that rejects at `ms` (a duty's deadline); already handled, so an unused one never surfaces. */
  deadline(ms: number, reason: string): Promise<never> {
    const p = new Promise<never>((_, reject) => this.at(ms, () => reject(new Error(reason))));
    p.catch(() => {});
    return p;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/**
 * The slot of a "<duty>/<slot>" consensus instance id, if it is this duty's and within a slot of now:
 * peers' messages for other slots are refused before any state is kept for them.
 */
export function instanceSlot(duty: string, instance: string, currentSlot: number): number | undefined {
  let slot: number;
  try {
    const id = parseInstanceId(instance);
    if (id.duty !== duty) return undefined;
    slot = id.slot;
  } catch {
    return undefined;
  }
  return slot < currentSlot - 1 || slot > currentSlot + 1 ? undefined : slot;
}
