import {rm} from "node:fs/promises";
import type {ClusterLock} from "../../src/cluster/lockSchema.js";
import type {AnyDutyResult, ValidatorRole, ValidatorRoleOptions} from "../../src/roles/validator/validatorRole.js";
import {BlsPool} from "../../src/workers/blsPool.js";
import {type RunningDevnet, spawnDevnet} from "../devnet/helpers.js";
import {tempDir} from "./cli.js";
import {MemoryHub} from "./memoryTransport.js";
import {createTestCluster, startValidatorRoles} from "./validatorRoles.js";

/** A 3-of-4 cluster's validator roles on a spawned embedded devnet, and what they reported. */
export interface ClusterOnDevnet {
  devnet: RunningDevnet;
  lock: ClusterLock;
  dir: string;
  roles: ValidatorRole[];
  results: AnyDutyResult[];
  /** Stops the roles, their pool and the devnet, and removes the cluster's files; safe after a failed start. */
  stop(): Promise<void>;
}

/**
 * The scaffolding the duty tests on the devnet share: interop validators `validators` in a 3-of-4 cluster paying
 * `feeRecipient`, a devnet beacon node spawned with `devnetArgs`, and the four validator roles on it over one
 * in-process hub (`hub`, if the test listens on it too) with one BLS worker. Call `stop` in the test's `after`.
 */
export async function startClusterOnDevnet(o: {
  validators: {start: number; count: number};
  feeRecipient: string;
  devnetArgs: string[];
  hub?: MemoryHub;
  /** Options of node i that differ from the others' (its own beacon client on `devnet`, say). */
  node?(i: number, devnet: RunningDevnet): Partial<ValidatorRoleOptions> | Promise<Partial<ValidatorRoleOptions>>;
}): Promise<ClusterOnDevnet> {
  const dir = await tempDir();
  const pool = new BlsPool({size: 1});
  const roles: ValidatorRole[] = [];
  const results: AnyDutyResult[] = [];
  let devnet: RunningDevnet | undefined;
  const stop = async () => {
    await Promise.all(roles.map((r) => r.stop()));
    await pool.close();
    await devnet?.stop();
    await rm(dir, {recursive: true, force: true});
  };
  try {
    const {lock} = await createTestCluster(dir, o.validators, o.feeRecipient);
    const spawned = await spawnDevnet(o.devnetArgs);
    devnet = spawned;
    roles.push(
      ...(await startValidatorRoles({
        lock,
        dir,
        beaconUrls: [spawned.url],
        pool,
        hub: o.hub ?? new MemoryHub(),
        onResult: (r) => results.push(r),
        ...(o.node ? {node: (i: number) => o.node?.(i, spawned) ?? {}} : {}),
      })),
    );
    return {devnet: spawned, lock, dir, roles, results, stop};
  } catch (e) {
    await stop();
    throw e;
  }
}
