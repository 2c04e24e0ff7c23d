import {DOMAIN_BEACON_PROPOSER, DOMAIN_RANDAO} from "@lodestar/params";
import {
  DataAvailabilityStatus,
  ExecutionPayloadStatus,
  computeSigningRoot,
  processSlots,
  stateTransition,
} from "@lodestar/state-transition";
import {ssz, type SignedBeaconBlock} from "@lodestar/types";
import {produceBlock} from "../src/devnet/blockProducer.js";
import {Devnet} from "../src/devnet/devnet.js";
import type {EvmEngine} from "../src/devnet/execution/evmEngine.js";
import {createLogger} from "../src/util/logger.js";
import type {BenchTask, Suite} from "./harness.js";

/** The slot length the target is stated for: production + import must stay within 20% of it. */
const SLOT_MS = 2000;
/** Slots of own duties before the measured block, so it carries attestations of several slots and a sync aggregate. */
const WARMUP_SLOTS = 3;

/**
 * A devnet with every validator owned, driven by a hand-moved clock through WARMUP_SLOTS slots of proposals and
 * attestations, then a fully signed block for the next slot, ready to be measured.
 */
async function fixture(validators: number) {
  let nowMs = 0;
  const devnet = await Devnet.create({
    validators,
    own: new Set(Array.from({length: validators}, (_, i) => i)),
    slotMs: SLOT_MS,
    fork: "electra",
    genesisDelaySec: 0,
    logger: createLogger("error", "bench"),
    now: () => nowMs,
  });
  const chain = devnet.chain;
  for (let slot = 1; slot <= WARMUP_SLOTS; slot++) {
    nowMs = chain.slotStartMs(slot);
    await devnet.own.propose(slot, undefined);
    nowMs = chain.slotStartMs(slot) + SLOT_MS / 3;
    devnet.own.attest(slot);
  }
  const slot = WARMUP_SLOTS + 1;
  nowMs = chain.slotStartMs(slot);
  const parent = chain.head();
  const state = chain.stateAt(parent, slot);
  const proposer = state.epochCtx.getBeaconProposer(slot);
  const randao = devnet.keys.sign(
    proposer,
    computeSigningRoot(ssz.Epoch, 0, chain.config.getDomain(slot, DOMAIN_RANDAO, slot)),
  );
  const proposerDomain = chain.config.getDomain(slot, DOMAIN_BEACON_PROPOSER, slot);
  const sign = (message: SignedBeaconBlock["message"]): SignedBeaconBlock => ({
    message,
    signature: devnet.keys.sign(
      proposer,
      computeSigningRoot(ssz.electra.BeaconBlock, message as never, proposerDomain),
    ),
  });
  const {block} = await produceBlock(chain, slot, randao, new Uint8Array(32), devnet.feeRecipients, {parent});
  return {devnet, chain, slot, parent, state, randao, signed: sign(block), sign};
}

async function tasksFor(validators: number): Promise<BenchTask[]> {
  const f = await fixture(validators);
  const attestations = f.signed.message.body.attestations.length;
  let graffitiCounter = 0;
  const graffiti = (): Uint8Array => {
    const g = new Uint8Array(32);
    new DataView(g.buffer).setUint32(0, ++graffitiCounter);
    return g;
  };
  const engine = f.chain.engine as EvmEngine;
  const payload = (f.signed.message.body as {executionPayload: {blockHash: Uint8Array; parentHash: Uint8Array}})
    .executionPayload;
  const elBlock = engine.block(payload.blockHash);
  const elParent = engine.block(payload.parentHash);
  if (!elBlock || !elParent) throw new Error("bench fixture: the payload's EL blocks are missing");
  const tag = `${validators} validators`;
  return [
    {
      name: `state transition per block, signatures verified (${tag}, ${attestations} attestations)`,
      fn: () => {
        stateTransition(f.state, f.signed, {
          verifyStateRoot: true,
          verifyProposer: true,
          verifySignatures: true,
          executionPayloadStatus: ExecutionPayloadStatus.valid,
          dataAvailabilityStatus: DataAvailabilityStatus.Available,
        });
      },
    },
    {
      name: `epoch transition: advance the head state 5 empty slots across an epoch boundary (${tag})`,
      fn: () => {
        processSlots(f.parent.postState?.clone() ?? f.state.clone(), 8);
      },
    },
    {
      name: `payload execution per block: re-execute 4 txs + withdrawals (${tag})`,
      fn: async () => {
        const v = await engine.reexecute(elBlock, elParent);
        if (!v.valid) throw new Error(v.reason);
      },
    },
    {
      name: `block production end to end: GET blocks/{slot} work (${tag})`,
      fn: async () => {
        await produceBlock(f.chain, f.slot, f.randao, graffiti(), f.devnet.feeRecipients, {parent: f.parent});
      },
    },
    {
      name: `block production + signing + import (${tag}); share of a ${SLOT_MS} ms slot = mean / ${SLOT_MS}`,
      fn: async () => {
        const {block} = await produceBlock(f.chain, f.slot, f.randao, graffiti(), f.devnet.feeRecipients, {
          parent: f.parent,
        });
        await f.chain.importBlock(f.sign(block));
      },
    },
  ];
}

export const devnetSuite: Suite = {
  name: "devnet",
  async setup() {
    return {tasks: [...(await tasksFor(64)), ...(await tasksFor(1024))]};
  },
};
