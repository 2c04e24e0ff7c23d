import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {ssz} from "@lodestar/types";
import {BeaconNode} from "../../../../src/roles/validator/beacon/beaconNode.js";
import {type AnyDutyResult} from "../../../../src/roles/validator/validatorRole.js";
import {SLASHING_DB_DIR, SlashingProtection} from "../../../../src/storage/slashing/slashingProtection.js";
import {MemoryHub} from "../../../helpers/memoryTransport.js";
import {decodePartialSigs} from "../../../../src/roles/validator/exchange/partialSigs.js";
import {type Effectiveness, type RunningDevnet, getJson} from "../../../devnet/helpers.js";
import {type ClusterOnDevnet, startClusterOnDevnet} from "../../../helpers/clusterOnDevnet.js";

/** Not the withdrawal address, and not the devnet's default: blocks paying it were told so by the cluster. */
const FEE_RECIPIENT = "0x" + "22".repeat(20);

/**
 * Node 1's beacon node lies: its attestation data votes for a target root no honest node sees. The other
 * three must refuse its proposals, outvote it, and nothing but the honest data may be signed.
 */
async function lyingBeacon(url: string): Promise<BeaconNode> {
  const bn = await BeaconNode.connect([url]);
  const honest = bn.attestationData.bind(bn);
  bn.attestationData = async (slot, committeeIndex) => {
    const data = ssz.phase0.AttestationData.clone(await honest(slot, committeeIndex));
    data.target = {epoch: data.target.epoch, root: new Uint8Array(32).fill(0xbb)};
    return data;
  };
  return bn;
}

/**
 * The same duty layer on the embedded devnet (Electra: SingleAttestation on the v2 pool, v3 block
 * production with execution payloads, v2 aggregates), 64 interop validators all run by a 3-of-4 cluster and
 * none by the devnet. Judged by the devnet's effectiveness report, read from the chain's own state.
 */
describe("a 3-of-4 cluster running all 64 validators of the embedded devnet (Electra)", {timeout: 600_000}, () => {
  let c: ClusterOnDevnet;
  let devnet: RunningDevnet;
  let results: AnyDutyResult[];
  let dir: string;
  const refusedFrom: number[] = [];
  const blocksRefused: string[] = [];
  /** When each node first published its randao partial, by proposal slot. */
  const randaoSent = new Map<number, {node: number; at: number}[]>();

  before(async () => {
    const hub = new MemoryHub();
    // A fifth hub member that only listens: it hears every node's partials as the nodes' peers do.
    hub.transport(5).subscribe("partial_sig", (origin, _slot, payload) => {
      const batch = decodePartialSigs(payload);
      if (batch?.duty !== "randao") return;
      const sent = randaoSent.get(batch.slot) ?? [];
      if (!sent.some((s) => s.node === origin)) sent.push({node: origin, at: Date.now()});
      randaoSent.set(batch.slot, sent);
    });
    c = await startClusterOnDevnet({
      validators: {start: 0, count: 64},
      feeRecipient: FEE_RECIPIENT,
      devnetArgs: [
        "--validators",
        "64",
        "--own",
        "none",
        "--slot-ms",
        "2000",
        "--genesis-delay",
        "8",
        "--log-level",
        "warn",
      ],
      hub,
      node: async (i, spawned) => ({
        qbftEvents: {
          onRejected: (instance, from, reason) =>
            reason === "invalid proposed value"
              ? refusedFrom.push(from)
              : instance.startsWith("proposer/") && blocksRefused.push(`${from}:${reason}`),
        },
        ...(i === 1 ? {beacon: await lyingBeacon(spawned.url)} : {}),
      }),
    });
    ({devnet, results, dir} = c);
  });

  after(() => c?.stop());

  it("finalizes with one lying beacon node, with at least 99% of attestations included on target and a block in every slot", async () => {
    const slotMs = 2000;
    // Epochs 1..3 complete, plus one epoch for their attestations to be included.
    const until = devnet.genesisTime * 1000 + 5 * 8 * slotMs + 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));
    const finality = await getJson<{data: {finalized: {epoch: string}}}>(
      `${devnet.url}/eth/v1/beacon/states/head/finality_checkpoints`,
    );
    const summary: Record<string, number> = {};
    for (const r of results)
      summary[`${r.duty}:${r.status}:${r.reason ?? ""}`] =
        (summary[`${r.duty}:${r.status}:${r.reason ?? ""}`] ?? 0) + 1;
    assert.ok(
      Number(finality.body.data.finalized.epoch) >= 2,
      `finalized ${JSON.stringify(finality.body.data)}; ${JSON.stringify(summary)} ${JSON.stringify(results.filter((r) => r.status === "failed").slice(0, 3))}`,
    );

    const {body} = await getJson<Effectiveness>(`${devnet.url}/r3dv/v1/effectiveness?from_epoch=1&to_epoch=3`);
    let duties = 0;
    let good = 0;
    for (const e of body.data.epochs) {
      for (const v of e.validators) {
        duties++;
        if (v.included && v.correct_target) good++;
      }
    }
    assert.equal(duties, 3 * 64);
    assert.ok(
      good >= duties * 0.99,
      `${good} of ${duties} attestations included on target; ${JSON.stringify(summary)}; blocks refused ${blocksRefused}`,
    );
    const missed = body.data.epochs.flatMap((e) => e.missed_proposals);
    assert.deepEqual(missed, [], `missed proposals: ${JSON.stringify(missed)}`);
    // The liar's proposals were refused as invalid by honest nodes.
    assert.ok(refusedFrom.filter((from) => from === 1).length > 0, "node 1's lying proposals were refused");
  });

  it("makes each proposal's randao reveal in the slot before it, so the block is fetched at the slot start", async () => {
    const proposed = [
      ...new Set(
        results.filter((r) => r.duty === "proposer" && r.status !== "failed" && r.slot >= 8).map((r) => r.slot),
      ),
    ];
    assert.ok(proposed.length >= 16, `proposals from epoch 1 on: ${proposed.length}`);
    for (const slot of proposed) {
      const slotStart = devnet.genesisTime * 1000 + slot * 2000;
      const early = (randaoSent.get(slot) ?? []).filter((s) => s.at < slotStart);
      // The nodes' clocks are this process's: a threshold of nodes signed before the slot started.
      assert.ok(
        early.length >= 3,
        `slot ${slot}: randao partials before the slot from nodes ${early.map((s) => s.node).join(", ") || "none"}`,
      );
    }
  });

  it("every block of the cluster pays the lock's fee recipient", async () => {
    // The nodes told the devnet (prepare_beacon_proposer), which builds each proposer's execution payload for
    // the address it was told, as real beacon nodes do; without that it pays its default address.
    let blocks = 0;
    for (let slot = 8; slot < 4 * 8; slot++) {
      const block = await getJson<{data: {message: {body: {execution_payload: {fee_recipient: string}}}}}>(
        `${devnet.url}/eth/v2/beacon/blocks/${slot}`,
      );
      if (block.status === 404) continue;
      blocks++;
      assert.equal(
        block.body.data.message.body.execution_payload.fee_recipient.toLowerCase(),
        FEE_RECIPIENT,
        `block of slot ${slot}`,
      );
    }
    assert.ok(blocks > 0, "the cluster proposed blocks");
  });

  it("the lying node signed only what the cluster agreed: its slashing history holds honest targets only", async () => {
    // Stop the roles first: their slashing DBs are read here.
    await Promise.all(c.roles.map((r) => r.stop()));
    const liar = SlashingProtection.open(join(dir, "data-1", SLASHING_DB_DIR));
    try {
      const history = liar.exportInterchange().data;
      assert.ok(history.length > 0 && history.every((v) => v.signed_attestations.length > 0));
      // Its attestations are the agreed ones: the same signing roots as an honest node's for the same targets.
      // Every node signs its share of every agreed attestation, so in the epochs judged above (targets 1..3; the
      // roles stop mid-epoch 5) the honest node holds each target the liar does.
      const honest = SlashingProtection.open(join(dir, "data-2", SLASHING_DB_DIR));
      try {
        const honestRoots = new Map(
          honest
            .exportInterchange()
            .data.flatMap((v) => v.signed_attestations.map((a) => [`${v.pubkey}/${a.target_epoch}`, a.signing_root])),
        );
        const judged = history.flatMap((v) =>
          v.signed_attestations
            .filter((x) => Number(x.target_epoch) >= 1 && Number(x.target_epoch) <= 3)
            .map((a) => ({v, a})),
        );
        assert.ok(judged.length >= 3 * 64 * 0.99, `the liar signed ${judged.length} attestations with targets 1..3`);
        for (const {v, a} of judged) {
          const key = `${v.pubkey}/${a.target_epoch}`;
          assert.ok(honestRoots.has(key), `the liar signed ${key}, which the honest node 2 never signed`);
          assert.equal(a.signing_root, honestRoots.get(key), key);
        }
      } finally {
        await honest.close();
      }
    } finally {
      await liar.close();
    }
  });
});
