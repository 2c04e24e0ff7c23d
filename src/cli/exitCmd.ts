import {writeFile} from "node:fs/promises";
import {type Command, InvalidArgumentError} from "commander";
import {ipcRequest} from "../api/ipc.js";
import type {ExitStatus} from "../roles/validator/duties/exit/exitService.js";
import {socketPath, withIpcOptions} from "./ipcOptions.js";

function validatorId(v: string): string {
  if (!/^(\d+|0x[0-9a-fA-F]{96})$/.test(v))
    throw new InvalidArgumentError("expected a validator index or a 0x-prefixed 48-byte public key");
  return v;
}

function epochArg(v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError("expected an epoch number");
  return Number(v);
}

/** One exit in a line or two: who signed, who is missing, where it stands. */
export function formatExit(s: ExitStatus): string {
  const state =
    s.exitEpoch !== undefined
      ? `on chain: exits at epoch ${s.exitEpoch}`
      : s.submitted?.ok
        ? `submitted at slot ${s.submitted.slot}`
        : s.submitted
          ? `submission failed at slot ${s.submitted.slot}: ${s.submitted.detail ?? ""}`
          : s.recovered
            ? s.submitRequested.length >= s.threshold
              ? "recovered, submitting"
              : `recovered and kept (not submitted: ${s.submitRequested.length} of ${s.threshold} asked for it); write it out with --out`
            : `needs ${s.threshold - s.signed.length} more operator(s) to sign`;
  const lines = [
    `validator ${s.validatorIndex} exit at epoch ${s.epoch}: signed by ${s.signed.length} of ${s.threshold} needed (operators ${s.signed.join(", ") || "none"}), missing ${s.missing.join(", ") || "none"}; ${state}`,
  ];
  if (s.invalid.length > 0) lines.push(`  invalid partials from operator(s) ${s.invalid.join(", ")}`);
  return lines.join("\n");
}

async function writeSignedExit(out: string, s: ExitStatus | undefined): Promise<string> {
  if (!s?.signedExit)
    return `not written to ${out}: the exit is not recovered yet (${s ? `${s.signed.length} of ${s.threshold} signed` : "no partial of it here"}); run \`r3dv exit status --validator ${s?.validatorIndex ?? "V"} --out ${out}\` once ${s?.threshold ?? "threshold"} operators have signed`;
  // The Beacon API's SignedVoluntaryExit: `curl -X POST -H 'content-type: application/json' -d @FILE
  // BEACON/eth/v1/beacon/pool/voluntary_exits` submits it, from any machine, at any later time.
  await writeFile(out, JSON.stringify(s.signedExit, null, 2) + "\n", {mode: 0o600});
  return `signed exit written to ${out}`;
}

export function registerExit(program: Command): void {
  const exit = program
    .command("exit")
    .summary(
      "exit a validator with no central party: each operator signs its share, any node submits once enough have",
    );
  withIpcOptions(
    exit
      .command("sign")
      .summary("sign this operator's share of a validator's voluntary exit and push it to every node")
      .requiredOption("--validator <INDEX|PUBKEY>", "the validator to exit", validatorId)
      .option("--epoch <E>", "the exit message's epoch (default: the current epoch)", epochArg)
      .option(
        "--out <FILE>",
        "keep the exit instead of submitting it: write the signed exit here once recovered (a pre-signed exit)",
      ),
  ).action(
    async (flags: {
      ipc?: string;
      dataDir?: string;
      json?: boolean;
      validator: string;
      epoch?: number;
      out?: string;
    }) => {
      const s = await ipcRequest<ExitStatus>(socketPath(flags), "exit_sign", {
        validator: flags.validator,
        ...(flags.epoch === undefined ? {} : {epoch: flags.epoch}),
        submit: flags.out === undefined,
      });
      if (flags.json) return console.log(JSON.stringify(s, null, 2));
      console.log(formatExit(s));
      if (flags.out) console.log(await writeSignedExit(flags.out, s));
    },
  );
  withIpcOptions(
    exit
      .command("status")
      .summary("every exit this node holds partials of: who signed, who is missing, submitted or on chain")
      .option("--validator <INDEX|PUBKEY>", "only this validator's exits", validatorId)
      .option("--out <FILE>", "write the validator's recovered signed exit here (with --validator)"),
  ).action(async (flags: {ipc?: string; dataDir?: string; json?: boolean; validator?: string; out?: string}) => {
    if (flags.out && !flags.validator) throw new InvalidArgumentError("--out needs --validator");
    const all = await ipcRequest<ExitStatus[]>(socketPath(flags), "exit_status", {
      ...(flags.validator === undefined ? {} : {validator: flags.validator}),
    });
    if (flags.json) return console.log(JSON.stringify(all, null, 2));
    console.log(all.length === 0 ? "no exits signed or heard by this node" : all.map(formatExit).join("\n"));
    if (flags.out) console.log(await writeSignedExit(flags.out, all.at(-1)));
  });
}
