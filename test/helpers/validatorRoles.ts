import {join} from "node:path";
import type {ClusterLock} from "../../src/cluster/lockSchema.js";
import {createCluster, nodeDirName} from "../../src/cluster/createCluster.js";
import {IDENTITY_FILE, generateIdentity, loadIdentity} from "../../src/cluster/identity.js";
import {toHex} from "../../src/hotpath/bytes.js";
import {initHerumi} from "../../src/hotpath/herumi.js";
import {interopSecretKey} from "../../src/hotpath/interop.js";
import {secretToPublicKey, splitSecretKey} from "../../src/hotpath/threshold.js";
import type {ShareKey} from "../../src/roles/validator/signing/shareKeys.js";
import {type AnyDutyResult, ValidatorRole, type ValidatorRoleOptions} from "../../src/roles/validator/validatorRole.js";
import {createLogger} from "../../src/util/logger.js";
import type {BlsPool} from "../../src/workers/blsPool.js";
import {MemoryHub} from "./memoryTransport.js";

/** A 3-of-4 cluster whose identities and key shares exist only in memory (see memoryCluster). */
export interface MemoryCluster {
  lock: ClusterLock;
  identities: Awaited<ReturnType<typeof generateIdentity>>[];
  /** `shares[i - 1]`: node i's share of every validator, in validator order. */
  shares: ShareKey[][];
}

/**
 * A 3-of-4 cluster of interop validators 0..validators-1 split in memory: benchmarks and the duty harness measure
 * duties, and 1024 validators' 4096 EIP-2335 keystores would spend minutes in their KDF before the first slot.
 */
export async function memoryCluster(validators: number): Promise<MemoryCluster> {
  await initHerumi();
  const identities = await Promise.all([1, 2, 3, 4].map(() => generateIdentity()));
  const shares: ShareKey[][] = [[], [], [], []];
  const pubkeys: string[] = [];
  for (let j = 0; j < validators; j++) {
    const secret = interopSecretKey(j);
    const parts = splitSecretKey(secret, 3, 4);
    const sharePubkeys = Object.fromEntries(parts.map((p, i) => [i + 1, secretToPublicKey(p)]));
    pubkeys.push(toHex(secretToPublicKey(secret)));
    parts.forEach((p, i) => shares[i]?.push({pubkey: pubkeys[j] as string, secret: p, sharePubkeys}));
  }
  // The parts of a lock the validator role reads: operators, threshold, and each validator's fee recipient
  // (without them it failed at start, and every duty row measured nothing).
  const lock = {
    threshold: 3,
    operators: identities.map((id, i) => ({index: i + 1, peer_id: id.peerId})),
    // A gas limit of each validator's own (not the 60M default), so a test can tell the lock's was used.
    validators: pubkeys.map((pubkey, j) => ({
      pubkey,
      fee_recipient: "0x" + "11".repeat(20),
      gas_limit: 36_000_000 + j,
    })),
  } as unknown as ClusterLock;
  return {lock, identities, shares};
}

/**
 * The validator roles of every node of a cluster, started on the given beacon node(s) and one in-process hub (the
 * caller's, if it listens on it too), each result tagged with its node. The cluster is either made in `dir` (by
 * createCluster into `dir/cluster`: keys decrypted from its keystores), in `nodeDirs` (a ceremony's, one per
 * operator), or `memory` (keys split in memory); data dirs in `dir`. `node` adds or replaces options of node i: a faulty beacon client, a corrupting transport, QBFT events.
 */
export async function startValidatorRoles(o: {
  lock: ClusterLock;
  dir: string;
  memory?: MemoryCluster;
  /** Node i's dir is `nodeDirs[i - 1]` (a DKG's or a reshare's), not `dir/cluster/node-i`. */
  nodeDirs?: string[];
  nodes?: number;
  beaconUrls: string[];
  pool: BlsPool;
  hub?: MemoryHub;
  onResult(r: AnyDutyResult & {node: number}): void;
  node?(i: number, hub: MemoryHub): Partial<ValidatorRoleOptions> | Promise<Partial<ValidatorRoleOptions>>;
}): Promise<ValidatorRole[]> {
  const hub = o.hub ?? new MemoryHub();
  const logger = createLogger("error", "test");
  const roles: ValidatorRole[] = [];
  for (let i = 1; i <= (o.nodeDirs?.length ?? o.nodes ?? 4); i++) {
    const nodeDir = o.nodeDirs?.[i - 1] ?? join(o.dir, "cluster", nodeDirName(i));
    const {privateKey} = o.memory
      ? (o.memory.identities[i - 1] as MemoryCluster["identities"][number])
      : await loadIdentity(join(nodeDir, IDENTITY_FILE));
    roles.push(
      new ValidatorRole({
        lock: o.lock,
        self: i,
        nodeDir,
        dataDir: join(o.dir, `data-${i}`),
        beaconUrls: o.beaconUrls,
        privateKey,
        transport: hub.transport(i),
        pool: o.pool,
        logger,
        onResult: (r) => o.onResult({...r, node: i}),
        ...(o.memory ? {shares: o.memory.shares[i - 1] as ShareKey[]} : {}),
        ...(await o.node?.(i, hub)),
      }),
    );
  }
  await Promise.all(roles.map((r) => r.start()));
  return roles;
}

/**
 * A 3-of-4 devnet cluster in `dir/cluster` (where startValidatorRoles looks) over interop keys `start..start+count`,
 * its keystores encrypted with the fast KDF (tests decrypt dozens of them).
 */
export async function createTestCluster(
  dir: string,
  keys: {start: number; count: number},
  feeRecipient?: string,
): Promise<{lock: ClusterLock}> {
  return createCluster({
    nodes: 4,
    threshold: 3,
    keys: {kind: "interop", ...keys},
    network: "devnet",
    withdrawalAddress: "0x" + "11".repeat(20),
    ...(feeRecipient ? {feeRecipient} : {}),
    kdf: "pbkdf2",
    out: join(dir, "cluster"),
  });
}
