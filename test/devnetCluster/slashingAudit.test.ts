import assert from "node:assert/strict";
import {mkdir, mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import type {DevnetNode} from "../../src/devnetCluster/cluster.js";
import {auditSlashing} from "../../src/devnetCluster/slashingAudit.js";
import {SLASHING_DB_DIR, SlashingProtection} from "../../src/storage/slashing/slashingProtection.js";

const GVR = `0x${"ab".repeat(32)}`;
const PUBKEY = `0x${"cd".repeat(48)}`;

function node(dir: string, index: number): DevnetNode {
  return {index, nodeDir: "", dataDir: join(dir, `data-${index}`), p2pPort: 0, httpUrl: "", ipc: "", log: ""};
}

describe("the devnet's slashing audit", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "r3dv-audit-"));
  });
  after(() => rm(dir, {recursive: true, force: true}));

  it("reads a node down from genesis (its DB never bound to a chain) as one that signed nothing, and proves a double vote slashable", async () => {
    const nodes = [1, 2, 3, 4].map((i) => node(dir, i));
    for (const n of nodes) {
      await mkdir(n.dataDir, {recursive: true});
      const db = SlashingProtection.open(join(n.dataDir, SLASHING_DB_DIR));
      // Node 4 started, made its DB, and was gone before the chain began.
      if (n.index !== 4) {
        await db.ensureGenesisValidatorsRoot(GVR);
        // Nodes 1 and 2 sign one vote, node 3 another for the same target: with threshold 2, one full signature.
        const root = n.index === 3 ? `0x${"02".repeat(32)}` : `0x${"01".repeat(32)}`;
        await db.checkAndInsertAttestation({pubkey: PUBKEY, sourceEpoch: 0, targetEpoch: 1, signingRoot: root});
      }
      await db.close();
    }
    const out = join(dir, "exports");
    await mkdir(out);
    const clean = await auditSlashing(nodes, 2, out);
    assert.deepEqual(clean.errors, []);
    assert.deepEqual(clean.nodes, [1, 2, 3, 4], "every node's DB read, the one down from genesis included");
    assert.equal(clean.attestations, 3);
    assert.deepEqual(clean.slashable, [], "only one vote reached the threshold");
    // With threshold 1, both votes are full signatures over one target: a double vote.
    const one = await auditSlashing(nodes, 1, out);
    assert.equal(one.slashable.length, 1, JSON.stringify(one.slashable));
  });
});
