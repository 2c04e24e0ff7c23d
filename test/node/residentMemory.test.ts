import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {anonymousResidentBytes, parseRssAnon} from "../../src/node/residentMemory.js";

describe("anonymous resident memory (the memory health check's measure)", () => {
  it("reads RssAnon from a /proc status text, and says when a kernel has none", () => {
    const status = "Name:\tnode\nVmRSS:\t  555372 kB\nRssAnon:\t  288996 kB\nRssFile:\t  246012 kB\n";
    assert.equal(parseRssAnon(status), 288996 * 1024);
    assert.equal(parseRssAnon("Name:\tnode\nVmRSS:\t  555372 kB\n"), undefined);
  });

  it("counts memory the process allocates and touches, and stays within total RSS", () => {
    const rss = process.memoryUsage.rss();
    const before = anonymousResidentBytes();
    assert.ok(before > 0 && before <= rss, `anonymous ${before} B, total ${rss} B`);
    // 64 MiB zero-filled: every page touched, so resident.
    const held = Buffer.alloc(64 * 2 ** 20, 1);
    const grown = anonymousResidentBytes() - before;
    assert.ok(grown >= 56 * 2 ** 20, `grew ${grown} B for 64 MiB written`);
    assert.equal(held[held.length - 1], 1);
  });
});
