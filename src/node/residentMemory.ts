import {readFileSync} from "node:fs";

/**
 * The process's anonymous resident memory: what it allocated itself (JS heaps, native buffers, malloc), the part that
 * a leak grows and that the kernel cannot take back. Total RSS also counts the pages of the LMDB series mapped into
 * the process: every entry read maps its pages, so RSS rises with the series (about 13 MB a minute with 64
 * validators and 2 s slots, measured) although those are clean file pages the kernel drops under memory pressure.
 * Read by hand from /proc because neither Node nor a maintained library exposes RssAnon; elsewhere (no /proc),
 * total RSS stands in.
 */
export function anonymousResidentBytes(): number {
  try {
    return parseRssAnon(readFileSync("/proc/self/status", "utf8")) ?? process.memoryUsage.rss();
  } catch {
    return process.memoryUsage.rss();
  }
}

/** The `RssAnon:` line of a /proc/PID/status text, in bytes; undefined when it has none (kernels before 4.5). */
export function parseRssAnon(status: string): number | undefined {
  const m = /^RssAnon:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}
