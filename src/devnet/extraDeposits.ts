import {readFile} from "node:fs/promises";
import type {phase0} from "@lodestar/types";
import {z} from "zod";
import {DevnetError} from "./errors.js";

const hex = (bytes: number) => z.string().regex(new RegExp(`^(0x)?[0-9a-fA-F]{${bytes * 2}}$`));
/** The fields of a deposit-data.json entry (the launchpad's format, as create-cluster and dkg write it) genesis needs. */
const entry = z.object({
  pubkey: hex(48),
  withdrawal_credentials: hex(32),
  amount: z.number().int().positive(),
  signature: hex(96),
});

const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/^0x/, ""), "hex"));

/**
 * Validators beyond the interop ones, at genesis: a cluster made by `r3dv dkg` has keys no interop index gives, and
 * this is how the devnet runs it. Each deposit goes through genesis as on a real chain: one whose signature does
 * not verify under the devnet's fork version is skipped by the state transition, as the deposit contract's would be.
 */
export async function readExtraDeposits(file: string): Promise<phase0.DepositData[]> {
  const bad = (reason: string) =>
    new DevnetError({code: "DEVNET_BAD_OPTION", option: "--deposits", reason}, `--deposits ${file}: ${reason}`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw bad(`not a readable JSON file (${(e as Error).message})`);
  }
  const parsed = z.array(entry).min(1).safeParse(json);
  if (!parsed.success) throw bad(`not a deposit-data.json: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data.map((d) => ({
    pubkey: bytes(d.pubkey),
    withdrawalCredentials: bytes(d.withdrawal_credentials),
    amount: d.amount,
    signature: bytes(d.signature),
  }));
}
