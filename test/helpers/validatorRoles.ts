import {join} from "node:path";
import type {ClusterLock} from "../../src/cluster/lockSchema.js";
import {createCluster, nodeDirName} from "../../src/cluster/createCluster.js";
import {IDENTITY_FILE, loadIdentity} from "../../src/cluster/identity.js";
import {type AnyDutyResult, ValidatorRole, type ValidatorRoleOptions} from "../../src/roles/validator/validatorRole.js";
import {createLogger} from "../../src/util/logger.js";
import type {BlsPool} from "../../src/workers/blsPool.js";
import {MemoryHub} from "./memoryTransport.js";

/**
 * The validator roles of every node of a cluster made in `dir` (by createCluster into `dir/cluster`), started on the
 * given beacon node(s) and one in-process hub (the caller's, if it listens on it too), each result tagged with its
 * node. `node` adds or replaces options of node i: a faulty beacon client, a corrupting transport, QBFT events.
 */
export async function startValidatorRoles(o: {
  lock: ClusterLock;
  dir: string;
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
  for (let i = 1; i <= (o.nodes ?? 4); i++) {
    const nodeDir = join(o.dir, "cluster", nodeDirName(i));
    const {privateKey} = await loadIdentity(join(nodeDir, IDENTITY_FILE));
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
