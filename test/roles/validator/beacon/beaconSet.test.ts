import assert from "node:assert/strict";
import {after, afterEach, describe, it} from "node:test";
import {z} from "zod";
import {getJson, postJson} from "../../../../src/roles/validator/beacon/beaconHttp.js";
import type {BeaconEndpointStatus, RequestResult} from "../../../../src/roles/validator/beacon/beaconEndpoint.js";
import {BeaconSet} from "../../../../src/roles/validator/beacon/beaconSet.js";
import {redactUrl} from "../../../../src/roles/validator/beacon/beaconUrl.js";
import {BeaconError} from "../../../../src/roles/validator/beacon/errors.js";
import {waitFor} from "../../../helpers/cluster.js";
import {StubBeacon} from "../../../helpers/stubBeacon.js";

const versionResponse = z.object({data: z.object({version: z.string()})});
/** Benches this short keep the tests fast; the backoff doubles from it as in production. */
const BENCH_MS = 300;

const stubs: StubBeacon[] = [];
async function stub(): Promise<StubBeacon> {
  const s = await new StubBeacon().start();
  stubs.push(s);
  return s;
}

/** The URL of the stub whose version string answered. */
function read(set: BeaconSet): Promise<string> {
  return set.read("/eth/v1/node/version", (e) => getJson(e, "/eth/v1/node/version", versionResponse).then(() => e.url));
}

function submit(set: BeaconSet): Promise<void> {
  return set.submit("/eth/v1/beacon/pool/attestations", (e) => postJson(e, "/eth/v1/beacon/pool/attestations", []));
}

function endpoint(set: BeaconSet, index: number): BeaconEndpointStatus {
  return set.status()[index - 1] as BeaconEndpointStatus;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("BeaconSet over real HTTP servers", () => {
  afterEach(async () => {
    await Promise.all(stubs.splice(0).map((s) => s.stop()));
  });

  it("reads the first node while latencies are close, and a markedly faster second one once probes measure it", async () => {
    const [a, b] = [await stub(), await stub()];
    const set = new BeaconSet([a.url, b.url], {}, {benchBaseMs: BENCH_MS});
    assert.equal(await read(set), a.url, "the operator's order before any latency is known");
    await set.probe();
    assert.equal(await read(set), a.url, "both answer in a few ms: order kept");
    a.behaviour.delayMs = 300;
    for (let i = 0; i < 4; i++) await set.probe();
    assert.ok((endpoint(set, 1).latencyMs ?? 0) > 150, JSON.stringify(set.status()));
    assert.deepEqual(
      set.ordered().map((e) => e.url),
      [b.url, a.url],
    );
    const readsOfA = a.hits.reads;
    assert.equal(await read(set), b.url);
    assert.equal(a.hits.reads, readsOfA, "the slow node was not asked");
    a.behaviour.delayMs = 0;
    for (let i = 0; i < 8; i++) await set.probe();
    assert.equal(await read(set), a.url, "back in first place once it is fast again");
  });

  it("benches a dead node at its first failure, skips it with a doubling bench, and brings it back by the probe", async () => {
    const [a, b] = [await stub(), await stub()];
    const events: {url: string; result: RequestResult}[] = [];
    const set = new BeaconSet(
      [a.url, b.url],
      {request: (url, _kind, result) => events.push({url, result})},
      {benchBaseMs: BENCH_MS},
    );
    await set.probe();
    await a.stop();
    assert.equal(await read(set), b.url, "the read fell over to the second node");
    assert.deepEqual(events.slice(-2), [
      {url: a.url, result: "unreachable"},
      {url: b.url, result: "ok"},
    ]);
    const benched = endpoint(set, 1);
    assert.equal(benched.health, "benched");
    assert.equal(benched.reason, "unreachable");
    assert.equal(benched.failures, 1);
    const before = events.length;
    assert.equal(await read(set), b.url);
    assert.deepEqual(events.slice(before), [{url: b.url, result: "ok"}], "the benched node is not tried again");
    await set.probe();
    assert.equal(endpoint(set, 1).failures, 1, "not probed before its bench ends");
    await sleep(BENCH_MS + 20);
    await set.probe();
    const twice = endpoint(set, 1);
    assert.equal(twice.failures, 2);
    assert.ok((twice.retryInMs ?? 0) > BENCH_MS * 1.5, `second bench doubles: ${twice.retryInMs} ms`);
    await a.start();
    await sleep((twice.retryInMs ?? 0) + 20);
    await set.probe();
    assert.equal(endpoint(set, 1).health, "healthy");
    assert.equal(await read(set), a.url, "reads go to the first node again");
  });

  it("counts a burst of requests failing together as one failure, and a syncing spell does not lengthen the next outage's bench", async () => {
    const a = await stub();
    const set = new BeaconSet([a.url], {}, {benchBaseMs: BENCH_MS});
    await set.probe();
    // A slot's burst against the only node while it answers 503: one bench, not one per request.
    a.behaviour.syncing = "503";
    await Promise.allSettled(Array.from({length: 8}, () => read(set)));
    assert.equal(endpoint(set, 1).failures, 1, JSON.stringify(set.status()));
    await sleep(BENCH_MS + 20);
    await set.probe();
    assert.equal(endpoint(set, 1).failures, 2, "a failed probe counts");
    a.behaviour.syncing = "no";
    await sleep(BENCH_MS + 20);
    await set.probe();
    assert.equal(endpoint(set, 1).health, "healthy");
    // Then one outage, met by a burst: the bench is the first one's, not doubled by the syncing spell or the burst.
    await a.stop();
    await Promise.allSettled(Array.from({length: 8}, () => read(set)));
    const out = endpoint(set, 1);
    assert.deepEqual([out.health, out.reason], ["benched", "unreachable"]);
    assert.ok((out.retryInMs ?? Infinity) <= BENCH_MS, `bench ${out.retryInMs} ms after one outage`);
    await a.start();
    await sleep(BENCH_MS + 20);
    await set.probe();
    assert.equal(endpoint(set, 1).health, "healthy", "back at the first probe after its bench");
  });

  it("with no node healthy, probes a benched node before its bench ends: a beacon node started after the validator is used at once", async () => {
    const a = await stub();
    const set = new BeaconSet([a.url], {}, {benchBaseMs: BENCH_MS});
    await a.stop();
    for (let i = 0; i < 4; i++) {
      await set.probe();
      await sleep(20);
    }
    const down = endpoint(set, 1);
    assert.equal(down.health, "benched");
    assert.equal(down.failures, 4, "every probe counted while none is healthy");
    assert.ok((down.retryInMs ?? 0) > 2 * BENCH_MS, `the bench grew: ${down.retryInMs} ms`);
    await a.start();
    await set.probe();
    assert.equal(endpoint(set, 1).health, "healthy", "back at the next probe, not at the bench's end");
  });

  it("with another node healthy, leaves a benched node alone until its bench ends", async () => {
    const [a, b] = [await stub(), await stub()];
    const set = new BeaconSet([a.url, b.url], {}, {benchBaseMs: BENCH_MS});
    await set.probe();
    await a.stop();
    await read(set);
    const probes = a.hits.probes;
    await a.start();
    await set.probe();
    assert.equal(endpoint(set, 1).health, "benched");
    assert.equal(a.hits.probes, probes, "not probed before its bench ends");
  });

  for (const syncing of ["flag", "503"] as const) {
    it(`benches a syncing node (${syncing === "flag" ? "is_syncing true" : "503 on every route"}), probes it without backoff, and brings it back once synced`, async () => {
      const [a, b] = [await stub(), await stub()];
      const health: string[] = [];
      const set = new BeaconSet(
        [a.url, b.url],
        {health: (s) => health.push(`${s.index}:${s.health}:${s.reason ?? ""}`)},
        {benchBaseMs: BENCH_MS},
      );
      await set.probe();
      a.behaviour.syncing = syncing;
      await set.probe();
      assert.equal(endpoint(set, 1).reason, "syncing");
      assert.equal(await read(set), b.url);
      assert.equal(set.anySynced(), true, "the second node is synced");
      await sleep(BENCH_MS + 20);
      await set.probe();
      const still = endpoint(set, 1);
      assert.equal(still.failures, 2);
      assert.ok(
        (still.retryInMs ?? Infinity) <= BENCH_MS,
        `a syncing node's bench does not grow: ${still.retryInMs} ms`,
      );
      a.behaviour.syncing = "no";
      await sleep(BENCH_MS + 20);
      await set.probe();
      assert.equal(await read(set), a.url);
      assert.deepEqual(health, ["1:healthy:", "2:healthy:", "1:benched:syncing", "1:healthy:"]);
    });
  }

  it("reports no synced node when every node syncs, and still tries them all for a read", async () => {
    const [a, b] = [await stub(), await stub()];
    const set = new BeaconSet([a.url, b.url], {}, {benchBaseMs: BENCH_MS});
    a.behaviour.syncing = b.behaviour.syncing = "flag";
    await set.probe();
    assert.equal(set.anySynced(), false);
    assert.equal(await read(set), a.url, "a syncing node's answer beats none");
  });

  it("leaves health alone for a read that asks not to bench (a client refusing the answer's content)", async () => {
    const a = await stub();
    const set = new BeaconSet([a.url]);
    await set.probe();
    const garbage = z.object({data: z.object({PRESET_BASE: z.string()})});
    await assert.rejects(
      set.read("/eth/v1/config/spec", (e) => getJson(e, "/eth/v1/config/spec", garbage), {bench: false}),
      (e) => e instanceof BeaconError && e.code === "BEACON_BAD_RESPONSE",
    );
    assert.equal(endpoint(set, 1).health, "healthy");
    await assert.rejects(set.read("/eth/v1/config/spec", (e) => getJson(e, "/eth/v1/config/spec", garbage)));
    assert.equal(endpoint(set, 1).reason, "bad_response", "the same failure benches by default");
  });

  it("gives up a read its caller abandoned (a builder path past its budget): no next node asked, none benched", async () => {
    const [a, b] = [await stub(), await stub()];
    const set = new BeaconSet([a.url, b.url]);
    await set.probe();
    a.behaviour.delayMs = 5_000;
    const abandon = new AbortController();
    const route = "/eth/v1/node/version";
    const reading = set.read(route, (e) => fetch(e.url + route, {signal: abandon.signal}).then((r) => r.status), {
      signal: abandon.signal,
    });
    setTimeout(() => abandon.abort(), 100);
    await assert.rejects(reading, (e) => e instanceof BeaconError && e.code === "BEACON_ABANDONED");
    assert.equal(endpoint(set, 1).health, "healthy", "the slow node is not at fault for our giving up");
    assert.equal(b.hits.reads, 0, "the second node was not asked");
  });

  it("submits to every healthy node: one refusing with 400 while another accepts is a success", async () => {
    const [a, b] = [await stub(), await stub()];
    const results: string[] = [];
    const set = new BeaconSet([a.url, b.url], {
      request: (url, kind, result) => kind === "submit" && results.push(`${url === a.url ? "a" : "b"}:${result}`),
    });
    await set.probe();
    a.behaviour.post = {status: 400, message: "PRIORITY_0: attestation references unknown block"};
    await submit(set);
    // The submission resolves at the first acceptance; the other node's answer may still be on its way.
    await waitFor("both answers", async () => results.length === 2, 10_000, 10);
    assert.deepEqual([a.hits.posts, b.hits.posts], [1, 1], "both nodes received the submission");
    assert.deepEqual(results.sort(), ["a:refused", "b:ok"]);
    assert.equal(endpoint(set, 1).health, "healthy", "a refusal is the request's fault, not the node's: no bench");
  });

  it("fails a submission that every node refused, with the refusal; 'already known' is accepted", async () => {
    const [a, b] = [await stub(), await stub()];
    const set = new BeaconSet([a.url, b.url]);
    a.behaviour.post = {status: 400, message: "invalid signature"};
    b.behaviour.post = {status: 500, message: "internal error"};
    await assert.rejects(
      submit(set),
      (e) => e instanceof BeaconError && e.code === "BEACON_REFUSED" && /invalid signature/.test(e.message),
    );
    a.behaviour.post = {status: 400, message: "ATTESTATION_ERROR_ALREADY_KNOWN"};
    await b.stop();
    await submit(set);
  });

  it("takes Lodestar 1.5.1's HTTP 500 PublishError.Duplicate as already known, without benching the node", async () => {
    const [a, b] = [await stub(), await stub()];
    const set = new BeaconSet([a.url, b.url]);
    for (const s of [a, b]) s.behaviour.post = {status: 500, message: "PublishError.Duplicate"};
    await submit(set);
    assert.ok(
      set.status().every((e) => e.health !== "benched"),
      JSON.stringify(set.status()),
    );
    // A 500 that says anything else still fails the submission.
    for (const s of [a, b]) s.behaviour.post = {status: 500, message: "internal error"};
    await assert.rejects(submit(set), (e) => e instanceof BeaconError && /internal error/.test(e.message));
  });

  it("sends URL credentials as authorization and never shows them in errors, status or labels", async () => {
    const a = await stub();
    a.behaviour.auth = `Basic ${Buffer.from("user:s3cret").toString("base64")}`;
    const withCreds = a.url.replace("http://", "http://user:s3cret@");
    const dead = "http://user:s3cret@127.0.0.1:1/apikey-123?token=abc";
    const set = new BeaconSet([dead, withCreds]);
    assert.equal(await read(set), a.url);
    assert.equal(a.lastAuthorization, a.behaviour.auth);
    const shown = JSON.stringify({labels: set.labels, status: set.status()});
    assert.doesNotMatch(shown, /s3cret|apikey-123|abc|user/);
    assert.deepEqual(set.labels, ["http://***@127.0.0.1:1/***?***", `http://***@127.0.0.1:${new URL(a.url).port}`]);
    assert.equal(redactUrl("https://node.example:5052/"), "https://node.example:5052");
    // Two URLs that differ only in their secrets keep apart in metrics.
    assert.deepEqual(new BeaconSet(["http://h:1/key-a", "http://h:1/key-b"]).labels, [
      "http://h:1/***#1",
      "http://h:1/***#2",
    ]);
  });

  after(async () => {
    await Promise.all(stubs.splice(0).map((s) => s.stop()));
  });
});
