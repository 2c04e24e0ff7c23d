import type {Command} from "commander";
import {
  type CreateClusterOptions,
  type KeySource,
  CreateClusterError,
  checkInteropNetwork,
  createCluster,
} from "../cluster/createCluster.js";
import {KDFS, type Kdf} from "../cluster/keystores.js";
import {NETWORK_NAMES, isNetworkName} from "../cluster/network.js";

interface RawOptions {
  nodes: string;
  threshold?: string;
  validators?: string;
  splitKeystores?: string;
  passwordFile?: string;
  interop?: string;
  network: string;
  withdrawalAddress: string;
  compounding?: boolean;
  feeRecipient?: string;
  gasLimit?: string;
  operators?: string;
  kdf: string;
  out: string;
  name?: string;
}

const bad = (option: string, reason: string) =>
  new CreateClusterError({code: "CLUSTER_BAD_OPTION", option, reason}, `${option}: ${reason}`);

function int(option: string, value: string): number {
  if (!/^\d+$/.test(value)) throw bad(option, `expected a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function keySource(o: RawOptions): KeySource {
  const given = [
    o.validators !== undefined && "--validators",
    o.splitKeystores !== undefined && "--split-keystores",
    o.interop !== undefined && "--interop",
  ].filter((x): x is string => x !== false);
  if (given.length !== 1) {
    throw bad(
      "keys",
      given.length === 0
        ? "give exactly one of --validators V, --split-keystores DIR, --interop START:COUNT"
        : `give only one key source, got ${given.join(" and ")}`,
    );
  }
  if (o.validators !== undefined) return {kind: "random", count: int("--validators", o.validators)};
  if (o.interop !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(o.interop);
    if (!m) throw bad("--interop", `expected START:COUNT, got ${JSON.stringify(o.interop)}`);
    return {kind: "interop", start: Number(m[1]), count: Number(m[2])};
  }
  if (o.passwordFile === undefined)
    throw bad("--password-file", "required with --split-keystores: the file holding the keystores' password");
  return {kind: "keystores", dir: o.splitKeystores as string, passwordFile: o.passwordFile};
}

export function toCreateOptions(o: RawOptions): CreateClusterOptions {
  if (!isNetworkName(o.network))
    throw bad("--network", `unknown network ${JSON.stringify(o.network)}; one of ${NETWORK_NAMES.join(", ")}`);
  if (!(KDFS as readonly string[]).includes(o.kdf))
    throw bad("--kdf", `unknown KDF ${JSON.stringify(o.kdf)}; one of ${KDFS.join(", ")}`);
  const keys = keySource(o);
  checkInteropNetwork(keys, o.network);
  return {
    nodes: int("--nodes", o.nodes),
    threshold: o.threshold === undefined ? undefined : int("--threshold", o.threshold),
    keys,
    network: o.network,
    withdrawalAddress: o.withdrawalAddress,
    compounding: o.compounding ?? false,
    feeRecipient: o.feeRecipient,
    gasLimit: o.gasLimit === undefined ? undefined : int("--gas-limit", o.gasLimit),
    operators: o.operators?.split(",").map((s) => s.trim()),
    kdf: o.kdf as Kdf,
    out: o.out,
    name: o.name,
  };
}

export function registerCreateCluster(program: Command): void {
  program
    .command("create-cluster")
    .summary("split validator keys m-of-n into share keystores, a cluster lock and deposit data")
    .description(
      "Split validator keys into n key shares (any m sign), and write OUT/cluster-lock.json, OUT/node-<i>/ (identity key and " +
        "EIP-2335 share keystores for operator i) and OUT/deposit-data.json. Give exactly one key source.",
    )
    .requiredOption("--nodes <N>", "number of nodes (operators), at least 3")
    .option("--threshold <M>", "signatures needed (default ceil(2N/3); must be more than N/2)")
    .option("--validators <V>", "key source: create V new random validator keys")
    .option("--split-keystores <DIR>", "key source: split the EIP-2335 keystore*.json files in DIR")
    .option("--password-file <F>", "password of the keystores given with --split-keystores")
    .option(
      "--interop <START:COUNT>",
      "key source: the public interop keys START..START+COUNT-1 (only with --network devnet)",
    )
    .option("--network <NAME>", `${NETWORK_NAMES.join("|")}: fork version and deposit domain`, "mainnet")
    .requiredOption("--withdrawal-address <0x..>", "execution address that receives withdrawals (0x01 credentials)")
    .option("--compounding", "use 0x02 (compounding, EIP-7251) withdrawal credentials")
    .option("--fee-recipient <0x..>", "execution address for priority fees (default: the withdrawal address)")
    .option("--gas-limit <GAS>", "gas limit the validators' builder registrations ask for (default 60000000)")
    .option("--operators <host:port,...>", "each node's p2p address (default 127.0.0.1:9000+i)")
    .option("--kdf <KDF>", `keystore key derivation: ${KDFS.join("|")}`, "scrypt")
    .option("--name <NAME>", "cluster name recorded in the lock", "r3dv-cluster")
    .requiredOption("--out <DIR>", "folder to create (must not exist or be empty)")
    .action(async (raw: RawOptions) => {
      const opts = toCreateOptions(raw);
      const created = await createCluster({...opts, onProgress: (m) => console.error(m)});
      const {lock} = created;
      console.log(`created cluster ${lock.name} in ${created.out}`);
      console.log(`  lock_hash   ${lock.lock_hash}`);
      console.log(`  network     ${lock.network} (fork version ${lock.fork_version})`);
      console.log(`  threshold   ${lock.threshold} of ${lock.operators.length}`);
      for (const op of lock.operators) console.log(`  node-${op.index}      ${op.peer_id} at ${op.address}`);
      console.log(
        `  validators  ${lock.validators.length}: ${lock.validators.map((v) => v.pubkey.slice(0, 12) + "..").join(" ")}`,
      );
      console.log(`give each operator its node-<i>/ folder and cluster-lock.json; deposit with deposit-data.json`);
    });
}
