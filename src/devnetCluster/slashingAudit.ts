import {writeFile} from "node:fs/promises";
import {join} from "node:path";
import {SLASHING_DB_DIR, SlashingProtection} from "../storage/slashing/slashingProtection.js";
import type {Interchange} from "../storage/slashing/interchangeSchema.js";
import {errorMessage} from "../util/errors.js";
import type {DevnetNode} from "./cluster.js";

export interface SlashingAudit {
  /** Nodes whose DB was exported (EIP-3076, also written to OUT/slashing-protection/node-i.json). */
  nodes: number[];
  attestations: number;
  blocks: number;
  /** Messages that `threshold` shares signed, i.e. that a full signature could exist for. */
  fullySigned: number;
  /** Pairs of fully signable messages that would slash a validator: double votes, surround votes, double proposals. */
  slashable: string[];
  /** Messages whose shares disagree (different roots for one target or slot) without either reaching the threshold. */
  conflicts: string[];
  errors: string[];
}

interface Vote {
  source: number;
  target: number;
  root: string;
  signers: Set<number>;
}

/**
 * Proves "no slashable signature" from what every node's slashing-protection DB says its share signed, not by
 * assumption: a full signature needs `threshold` shares over one signing root, so two conflicting full
 * signatures need two such groups. Run after the nodes have stopped (the DBs are then complete and closed).
 */
export async function auditSlashing(nodes: DevnetNode[], threshold: number, outDir: string): Promise<SlashingAudit> {
  const audit: SlashingAudit = {
    nodes: [],
    attestations: 0,
    blocks: 0,
    fullySigned: 0,
    slashable: [],
    conflicts: [],
    errors: [],
  };
  const votes = new Map<string, Map<string, Vote>>();
  const blocks = new Map<string, Map<string, Set<number>>>();
  for (const n of nodes) {
    let file: Interchange | undefined;
    try {
      const db = SlashingProtection.open(join(n.dataDir, SLASHING_DB_DIR));
      try {
        // A node down from genesis never saw the chain: its DB is read, and it signed nothing.
        file = db.genesisValidatorsRoot() === undefined ? undefined : db.exportInterchange();
      } finally {
        await db.close();
      }
    } catch (e) {
      audit.errors.push(`node ${n.index}: ${errorMessage(e)}`);
      continue;
    }
    audit.nodes.push(n.index);
    if (file === undefined) continue;
    await writeFile(join(outDir, `node-${n.index}.json`), JSON.stringify(file, null, 2) + "\n");
    for (const d of file.data) {
      for (const a of d.signed_attestations) {
        audit.attestations++;
        const root = a.signing_root ?? `unknown-root-of-node-${n.index}`;
        const byRoot = votes.get(d.pubkey) ?? new Map<string, Vote>();
        votes.set(d.pubkey, byRoot);
        const key = `${a.source_epoch}:${a.target_epoch}:${root}`;
        const v = byRoot.get(key) ?? {
          source: Number(a.source_epoch),
          target: Number(a.target_epoch),
          root,
          signers: new Set<number>(),
        };
        v.signers.add(n.index);
        byRoot.set(key, v);
      }
      for (const b of d.signed_blocks) {
        audit.blocks++;
        const bySlot = blocks.get(`${d.pubkey}:${b.slot}`) ?? new Map<string, Set<number>>();
        blocks.set(`${d.pubkey}:${b.slot}`, bySlot);
        const root = b.signing_root ?? `unknown-root-of-node-${n.index}`;
        bySlot.set(root, (bySlot.get(root) ?? new Set()).add(n.index));
      }
    }
  }
  for (const [pubkey, byRoot] of votes) checkVotes(audit, pubkey, [...byRoot.values()], threshold);
  for (const [key, byRoot] of blocks) {
    const full = [...byRoot.values()].filter((s) => s.size >= threshold);
    audit.fullySigned += full.length;
    if (full.length > 1) audit.slashable.push(`double proposal ${key.slice(0, 12)}..@slot ${key.split(":")[1]}`);
    else if (byRoot.size > 1)
      audit.conflicts.push(`block ${key.slice(0, 12)}..@slot ${key.split(":")[1]}: ${byRoot.size} different roots`);
  }
  return audit;
}

function checkVotes(audit: SlashingAudit, pubkey: string, all: Vote[], threshold: number): void {
  const full = all.filter((v) => v.signers.size >= threshold);
  audit.fullySigned += full.length;
  const who = `${pubkey.slice(0, 12)}..`;
  const targets = new Map<number, number>();
  for (const v of all) targets.set(v.target, (targets.get(v.target) ?? 0) + 1);
  for (const [target, count] of targets) {
    if (count > 1 && full.filter((v) => v.target === target).length < 2)
      audit.conflicts.push(`${who} target ${target}: shares signed ${count} different votes`);
  }
  for (let i = 0; i < full.length; i++) {
    for (let j = i + 1; j < full.length; j++) {
      const a = full[i] as Vote;
      const b = full[j] as Vote;
      if (a.target === b.target) audit.slashable.push(`double vote ${who} target ${a.target}`);
      else if ((a.source < b.source && b.target < a.target) || (b.source < a.source && a.target < b.target)) {
        audit.slashable.push(`surround vote ${who} ${a.source}->${a.target} and ${b.source}->${b.target}`);
      }
    }
  }
}
