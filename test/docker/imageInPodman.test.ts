import assert from "node:assert/strict";
import {execFile} from "node:child_process";
import {chown, copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {promisify} from "node:util";
import {after, before, describe, it} from "node:test";
import {MULTIPROCESS_LOCK, type TestCluster, freePorts, makeCluster, waitFor} from "../helpers/cluster.js";
import {acquireExclusive} from "../helpers/exclusive.js";
import {type RunningDevnet, devnetArgs, spawnDevnet} from "../devnet/helpers.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const execFileP = promisify(execFile);
/** The Debian base, made once with debootstrap and kept between runs (it is the slow part: about a minute). */
const BASE_IMAGE = "localhost/r3dv-test-base:bookworm";
const MIRROR = process.env.R3DV_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const RUN = `r3dv-it-${process.pid}`;
const IMAGE = `localhost/${RUN}:latest`;
/** The devnet's slot: short, so the cluster attests within seconds of starting. */
const SLOT_MS = 2000;
/** Starting four containers, decrypting shares and connecting, then attesting: generous for a busy CI machine. */
const MACHINE_MS = 120_000;
/** The image's user: node:24-slim's `node` (uid 1000), which the README tells operators to chown their files to. */
const IMAGE_UID = 1000;

/**
 * podman's defaults that this machine's kernel refuses: crun fails on hybrid cgroup hierarchies (runc works),
 * and its default nofile ulimit is above what an unprivileged sandbox may set.
 */
const CONTAINERS_CONF = `[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n`;

let conf = "";
async function podman(args: string[], opts: {input?: string} = {}): Promise<string> {
  const p = execFileP("podman", args, {env: {...process.env, CONTAINERS_CONF: conf}, maxBuffer: 64 << 20});
  if (opts.input !== undefined) p.child.stdin?.end(opts.input);
  return (await p).stdout;
}

async function has(tool: string): Promise<boolean> {
  return execFileP(tool, ["--version"]).then(
    () => true,
    () => false,
  );
}

/** Why this machine cannot run the test, or undefined when it can. */
async function missingTools(): Promise<string | undefined> {
  const missing: string[] = [];
  for (const t of ["podman", "runc", "debootstrap"]) if (!(await has(t))) missing.push(t);
  if (missing.length > 0)
    return `${missing.join(", ")} not installed: run scripts/install-test-tools.sh (the README's test command does)`;
  if (process.getuid?.() !== 0) return "rootful podman is needed (the test chowns the operator's files to uid 1000)";
  return undefined;
}

/** The Debian base: debootstrap's minimal bookworm, imported as an image (no registry is reachable here). */
async function baseImage(work: string): Promise<void> {
  if (
    await podman(["image", "exists", BASE_IMAGE]).then(
      () => true,
      () => false,
    )
  )
    return;
  const rootfs = join(work, "rootfs");
  await execFileP("debootstrap", ["--variant=minbase", "bookworm", rootfs, MIRROR], {maxBuffer: 64 << 20});
  const tar = execFileP("tar", ["-C", rootfs, "-c", "."], {encoding: "buffer", maxBuffer: 1 << 30});
  const {stdout} = await tar;
  await new Promise<void>((resolve, reject) => {
    const p = execFile("podman", ["import", "-", BASE_IMAGE], {env: {...process.env, CONTAINERS_CONF: conf}}, (e) =>
      e ? reject(e) : resolve(),
    );
    p.stdin?.end(stdout);
  });
  await rm(rootfs, {recursive: true, force: true});
}

/**
 * The Dockerfile's runtime stage on the Debian base. What `node:24-slim` brings (Node 24 at /usr/local/bin, the
 * `node` user) comes from the project's own `node` package and useradd; the stages that ran `npm ci` and `tsc`
 * are replaced by their outputs made on the host (the production install from the lockfile, and the build
 * `npm test` just made), since a build inside the container would need the registry. Every instruction of the
 * runtime stage itself runs as written.
 */
async function buildImage(work: string): Promise<string> {
  const ctx = join(work, "context");
  await mkdir(ctx, {recursive: true});
  await copyFile(join(ROOT, "node_modules/node/bin/node"), join(ctx, "node"));
  for (const f of ["package.json", "package-lock.json"]) await copyFile(join(ROOT, f), join(ctx, f));
  await execFileP("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], {
    cwd: ctx,
    env: {...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH ?? ""}`},
    maxBuffer: 64 << 20,
  });
  await cp(join(ROOT, "dist/src"), join(ctx, "dist/src"), {recursive: true});
  const dockerfile = await readFile(join(ROOT, "Dockerfile"), "utf8");
  const stages = dockerfile.split(/^FROM .*$/m);
  const runtime = stages.at(-1) as string;
  assert.match(runtime, /COPY --from=deps \/app\/node_modules/);
  assert.match(runtime, /COPY --from=build \/app\/dist\/src/);
  const containerfile = [
    `FROM ${BASE_IMAGE}`,
    "COPY node /usr/local/bin/node",
    `RUN groupadd --gid ${IMAGE_UID} node && useradd --uid ${IMAGE_UID} --gid node --create-home node`,
    runtime
      .replace("COPY --from=deps /app/node_modules", "COPY node_modules")
      .replace("COPY --from=build /app/dist/src", "COPY dist/src"),
  ].join("\n");
  await writeFile(join(ctx, "Containerfile"), containerfile);
  // Docker format: the OCI format has no HEALTHCHECK, and the test runs the image's own.
  await podman(["build", "--format", "docker", "-q", "-t", IMAGE, "-f", join(ctx, "Containerfile"), ctx]);
  return ctx;
}

describe("the image, run in podman: a 4-node cluster in containers against the devnet", async () => {
  const skip = await missingTools();
  let work = "";
  let c: TestCluster | undefined;
  let devnet: RunningDevnet | undefined;
  let release: (() => Promise<void>) | undefined;
  let http: number[] = [];
  const started = new Set<number>();

  const name = (i: number) => `${RUN}-${i}`;
  const volume = (i: number) => `${RUN}-data-${i}`;
  /** The README's `docker run` line, on the host network (the lock's addresses are this machine's loopback). */
  const start = async (i: number): Promise<void> => {
    const cl = c as TestCluster;
    await podman([
      "run",
      "-d",
      "--name",
      name(i),
      "--network",
      "host",
      "-v",
      `${cl.lock}:/config/cluster-lock.json:ro`,
      "-v",
      `${cl.nodeDir(i)}:/config/node:ro`,
      "-v",
      `${volume(i)}:/data`,
      "-e",
      `R3DV_BEACON_NODE=${(devnet as RunningDevnet).url}`,
      "-e",
      `R3DV_P2P_LISTEN=/ip4/127.0.0.1/tcp/${cl.ports[i - 1]}`,
      "-e",
      `R3DV_HTTP=127.0.0.1:${http[i - 1]}`,
      IMAGE,
    ]);
    started.add(i);
  };
  const logs = (i: number) => podman(["logs", "--tail", "40", name(i)]).catch((e: unknown) => String(e));
  const healthy = (i: number) =>
    podman(["healthcheck", "run", name(i)]).then(
      () => true,
      () => false,
    );
  const metric = async (i: number, re: RegExp): Promise<number> => {
    const text = await fetch(`http://127.0.0.1:${http[i - 1]}/metrics`).then((r) => r.text());
    return Number(re.exec(text)?.[1] ?? 0);
  };
  const submittedAttestations = (i: number) =>
    metric(i, /^r3dv_duty_results_total\{duty="attester",status="submitted",reason=""\} (\d+)/m);
  const exec = (i: number, args: string[]) => podman(["exec", name(i), ...args]);

  before(async () => {
    if (skip) return;
    release = await acquireExclusive(MULTIPROCESS_LOCK);
    work = await mkdtemp(join(tmpdir(), "r3dv-podman-"));
    conf = join(work, "containers.conf");
    await writeFile(conf, CONTAINERS_CONF);
    await baseImage(work);
    await buildImage(work);
    c = await makeCluster(4);
    // The README: the operator's files, readable by the image's user.
    for (let i = 1; i <= 4; i++) {
      const dir = c.nodeDir(i);
      await chown(dir, IMAGE_UID, IMAGE_UID);
      for (const f of await readdir(dir, {recursive: true})) await chown(join(dir, f), IMAGE_UID, IMAGE_UID);
    }
    http = await freePorts(4);
    devnet = await spawnDevnet(devnetArgs({validators: 8, own: "1..7", slotMs: SLOT_MS, genesisDelaySec: 5}));
    for (let i = 1; i <= 4; i++) await start(i);
  });

  after(async () => {
    for (const i of started) await podman(["rm", "-f", "-t", "0", name(i)]).catch(() => undefined);
    for (const i of started) await podman(["volume", "rm", "-f", volume(i)]).catch(() => undefined);
    if (skip === undefined) await podman(["rmi", "-f", IMAGE]).catch(() => undefined);
    await devnet?.stop();
    await c?.cleanup();
    if (work) await rm(work, {recursive: true, force: true});
    await release?.();
  });

  it(
    "passes its HEALTHCHECK, runs as the image's user on the mounted files, and the cluster attests",
    {skip},
    async () => {
      for (let i = 1; i <= 4; i++)
        await waitFor(`container ${i}'s HEALTHCHECK`, () => healthy(i), MACHINE_MS, 1000).catch(async (e: unknown) => {
          throw new Error(`${String(e)}: ${await logs(i)}`);
        });
      const inspect = JSON.parse(await podman(["inspect", "--format", "json", name(1)])) as {
        Config: {Healthcheck?: {Test?: string[]}; User?: string};
      }[];
      assert.match(inspect[0]?.Config.Healthcheck?.Test?.join(" ") ?? "", /\/livez/, "the image's own HEALTHCHECK");
      assert.equal((await exec(1, ["id", "-u"])).trim(), String(IMAGE_UID));
      // The node read its identity key and keystores (0600, chowned as the README says) as that user, and owns /data.
      assert.equal((await exec(1, ["stat", "-c", "%u %a", "/config/node/identity.key"])).trim(), `${IMAGE_UID} 600`);
      assert.equal((await exec(1, ["stat", "-c", "%u", "/data"])).trim(), String(IMAGE_UID));
      for (let i = 1; i <= 4; i++)
        await waitFor(
          `container ${i} submitted attestations`,
          async () => (await submittedAttestations(i)) >= 2,
          MACHINE_MS,
        );
      // `docker exec r3dv r3dv status`, as the README says: the IPC socket in the volume, the CLI in the image.
      const status = await exec(1, ["r3dv", "status"]);
      assert.match(status, /ready true \(peers 3\/2 needed/);
    },
  );

  it(
    "a container replaced with the same /data volume keeps its series and slashing protection, and attests again",
    {skip},
    async () => {
      type Series = {lastSeq: number; entries: Record<string, unknown>[]};
      const series = async (): Promise<Series> =>
        JSON.parse(await exec(2, ["r3dv", "series", "--json", "--tail", "200", "--kind", "duty_result"])) as Series;
      type Interchange = {data: {signed_attestations: {source_epoch: string; target_epoch: string}[]}[]};
      const exported = async (file: string): Promise<Interchange> => {
        await exec(2, ["r3dv", "slashing-protection", "export", "--out", file]);
        return JSON.parse(await exec(2, ["cat", file])) as Interchange;
      };
      const before = await series();
      const history = await exported("/tmp/before.json");
      const signed = history.data.flatMap((d) =>
        d.signed_attestations.map((a) => `${a.source_epoch}/${a.target_epoch}`),
      );
      assert.ok(signed.length > 0, "the node signed attestations before its restart");

      // The README's upgrade step: stop (SIGTERM, within podman's 10 s), remove, start a new container on the volume.
      await podman(["stop", "-t", "10", name(2)]);
      const state = JSON.parse(await podman(["inspect", "--format", "json", name(2)])) as {State: {ExitCode: number}}[];
      assert.equal(state[0]?.State.ExitCode, 0, `a clean stop exits 0: ${await logs(2)}`);
      await podman(["rm", name(2)]);
      await start(2);
      await waitFor("the new container's HEALTHCHECK", () => healthy(2), MACHINE_MS, 1000);
      // Its counters start again; its series and history do not.
      await waitFor("the new container attests", async () => (await submittedAttestations(2)) >= 1, MACHINE_MS);
      const afterRestart = await series();
      assert.ok(afterRestart.lastSeq > before.lastSeq, `${afterRestart.lastSeq} > ${before.lastSeq}`);
      const kept = new Set(afterRestart.entries.map((e) => JSON.stringify(e)));
      const old = before.entries.slice(-20);
      assert.ok(old.length > 0);
      for (const e of old) assert.ok(kept.has(JSON.stringify(e)), `kept across the restart: ${JSON.stringify(e)}`);
      const verified = await exec(2, ["r3dv", "series", "--verify", "--tail", "1"]);
      assert.match(verified, /chain verified: \d+ entries/);
      const now = await exported("/tmp/after.json");
      const still = new Set(
        now.data.flatMap((d) => d.signed_attestations.map((a) => `${a.source_epoch}/${a.target_epoch}`)),
      );
      for (const s of signed)
        assert.ok(still.has(s), `the attestation ${s} signed before the restart is still on record`);
    },
  );
});
