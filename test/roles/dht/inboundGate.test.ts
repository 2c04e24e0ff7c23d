import assert from "node:assert/strict";
import {type Socket, connect} from "node:net";
import {after, before, describe, it} from "node:test";
import {loadLock} from "../../../src/cluster/lock.js";
import {type NodeProc, type TestCluster, makeCluster, spawnNode, waitFor} from "../../helpers/cluster.js";
import {MULTIPROCESS_LOCK} from "../../helpers/cluster.js";
import {acquireExclusive} from "../../helpers/exclusive.js";
import {Member} from "../../helpers/member.js";

/** Where the stranger connects from: a loopback address that is no operator's (every operator is on 127.0.0.1). */
const STRANGER_ADDRESS = "127.0.0.2";
/** libp2p's default pending inbound handshake limit is 10; the stranger holds more than that. */
const STRANGER_SOCKETS = 12;

/**
 * A stranger that holds silent TCP sockets open against a node's p2p port (it never speaks, so an
 * unprotected node waits out its whole handshake timeout on each), opening a new one whenever the node
 * closes one: what a griefer who only knows the port can do without any key.
 */
class SilentStranger {
  private readonly open = new Set<Socket>();
  opened = 0;
  closedByNode = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly port: number) {}

  start(): void {
    // 4 new sockets a second: under libp2p's per-host inbound rate limit (5/s), as in the review's reproduction.
    this.timer = setInterval(() => {
      if (this.open.size < STRANGER_SOCKETS) this.connectOne();
    }, 250);
  }

  private connectOne(): void {
    const s = connect({host: "127.0.0.1", port: this.port, localAddress: STRANGER_ADDRESS});
    this.open.add(s);
    this.opened++;
    s.on("error", () => undefined);
    s.on("close", () => {
      this.open.delete(s);
      if (!this.stopped) this.closedByNode++;
    });
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const s of this.open) s.destroy();
  }
}

describe("strangers on the p2p port (a real node process)", {timeout: 120_000}, () => {
  let c: TestCluster;
  let release: (() => Promise<void>) | undefined;
  let node: NodeProc | undefined;
  const members: Member[] = [];
  let stranger: SilentStranger | undefined;

  before(async () => {
    release = await acquireExclusive(MULTIPROCESS_LOCK);
    c = await makeCluster(4);
    // No beacon node answers here: the p2p host starts before the node waits for one, and only it is under test.
    node = await spawnNode(c, 1, "http://127.0.0.1:9");
    await waitFor("node 1 listening", async () => (await fetch(`${node?.http}/livez`)).ok, 30_000);
  });

  after(async () => {
    stranger?.stop();
    for (const m of members) await m.stop().catch(() => undefined);
    await node?.kill("SIGKILL");
    await c?.cleanup();
    await release?.();
  });

  it("refuses a stranger's sockets before the handshake and lets a member in while they keep coming", async () => {
    const lock = await loadLock(c.lock);
    stranger = new SilentStranger(c.ports[0] as number);
    stranger.start();
    // Let the stranger fill every pending-handshake slot an unprotected node has.
    await waitFor("the stranger to open its sockets", async () => (stranger?.opened ?? 0) >= STRANGER_SOCKETS, 10_000);
    // The member can reach node 1 only inbound: it listens on no lock address, so node 1's own dials fail.
    const member = await Member.start(lock, c.nodeDir(2), 2);
    members.push(member);
    const errors: string[] = [];
    await waitFor(
      "the member to connect while the stranger holds sockets",
      async () => {
        try {
          await member.dial(1);
          return true;
        } catch (e) {
          errors.push(e instanceof Error ? e.message : String(e));
          return false;
        }
      },
      5_000,
      100,
    ).catch((e: unknown) =>
      assert.fail(`${e instanceof Error ? e.message : String(e)}; dial errors: ${[...new Set(errors)].join("; ")}`),
    );
    // Refused before the handshake: the node closes each stranger socket at once, not after a handshake timeout.
    await waitFor(
      "the node to close the stranger's sockets",
      async () => stranger !== undefined && stranger.closedByNode >= STRANGER_SOCKETS,
      10_000,
    );
    const metrics = await (await fetch(`${node?.http}/metrics`)).text();
    assert.match(metrics, /^r3dv_connections_refused_total\{direction="inbound",stage="address"\} [1-9]/m);
  });
});
