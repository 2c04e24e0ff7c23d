import {join} from "node:path";
import {type Metrics, createMetrics} from "../../src/api/metrics.js";
import {IDENTITY_FILE, loadIdentity} from "../../src/cluster/identity.js";
import type {ClusterLock} from "../../src/cluster/lockSchema.js";
import {DhtRole, lockAddressToMultiaddr} from "../../src/roles/dht/dhtRole.js";
import {StoreRole, type StoreRoleOptions} from "../../src/roles/store/storeRole.js";
import {Series} from "../../src/storage/series.js";
import {createLogger} from "../../src/util/logger.js";
import type {TestCluster} from "./cluster.js";

export interface StoreNode {
  index: number;
  store: StoreRole;
  dht: DhtRole;
  series: Series;
  metrics: Metrics;
  stop(): Promise<void>;
}

/**
 * One node's network half in this process: a real series, a real libp2p DHT role on the lock's loopback
 * address and a real store role (no validator role), for component tests of admission, fetch and floods.
 */
export async function startStoreNode(
  c: TestCluster,
  lock: ClusterLock,
  index: number,
  o: {currentSlot: () => number; budgetBytes?: number} & Partial<
    Pick<StoreRoleOptions, "fetchDeadlineMs" | "fetchMaxChunks" | "peerRate">
  >,
): Promise<StoreNode> {
  const {privateKey} = await loadIdentity(join(c.nodeDir(index), IDENTITY_FILE));
  const metrics = createMetrics();
  const logger = createLogger("error");
  const budgetBytes = o.budgetBytes ?? 1e12;
  const series = await Series.open({dir: c.dataDir(index), lockHash: lock.lock_hash, operator: index, budgetBytes});
  const listen = lockAddressToMultiaddr((lock.operators[index - 1] as {address: string}).address).toString();
  const dht = new DhtRole({lock, self: index, privateKey, listen, metrics, logger});
  const store = new StoreRole({
    lock,
    self: index,
    privateKey,
    series,
    dht,
    budgetBytes,
    replication: 1,
    metrics,
    logger,
    ...o,
  });
  await dht.start();
  await store.start();
  return {
    index,
    store,
    dht,
    series,
    metrics,
    async stop() {
      await store.stop().catch(() => undefined);
      await dht.stop().catch(() => undefined);
      // Refusals and writes still queued land before the series closes under them.
      for (let i = 0; i < 50 && store.writesInFlight > 0; i++) await new Promise((r) => setTimeout(r, 20));
      await series.flush().catch(() => undefined);
      await series.close().catch(() => undefined);
    },
  };
}

/** A labelled counter's value, summed over the series matching `labels`. */
export async function counterValue(
  metric: {get(): Promise<{values: {value: number; labels: Record<string, unknown>}[]}>},
  labels: Record<string, string> = {},
): Promise<number> {
  const {values} = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((a, v) => a + v.value, 0);
}
