import assert from "node:assert/strict";
import {execFile, spawn} from "node:child_process";
import {once} from "node:events";
import {access, readFile, rm} from "node:fs/promises";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {promisify} from "node:util";
import {after, describe, it} from "node:test";
import {MULTIPROCESS_LOCK, freePorts, makeCluster, waitFor} from "../helpers/cluster.js";
import {acquireExclusive} from "../helpers/exclusive.js";
import {sleep, spawnDevnet} from "../devnet/helpers.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Where this test compiles the image's output; inside the repo so node_modules resolve as in the image. */
const OUT = join(ROOT, "dist-docker-test");
const run = promisify(execFile);

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions, with line continuations joined and comments dropped. */
async function instructions(): Promise<Instruction[]> {
  const text = (await readFile(join(ROOT, "Dockerfile"), "utf8")).replace(/\\\n/g, " ");
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return {op: (op as string).toUpperCase(), args: rest.join(" ")};
    });
}

/** The image's ENV as docker would set it: `ENV K=V K=V ...`. */
function imageEnv(ins: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of ins.filter((x) => x.op === "ENV"))
    for (const m of i.args.matchAll(/(\w+)=(\S+)/g)) env[m[1] as string] = m[2] as string;
  return env;
}

/** HEALTHCHECK [OPTIONS] CMD ["exec", "form"]. */
function healthcheck(ins: Instruction[]): string[] {
  const h = ins.find((i) => i.op === "HEALTHCHECK");
  assert.ok(h, "the image has a HEALTHCHECK");
  const m = /\bCMD\s+(\[.*\])$/.exec(h.args);
  assert.ok(m, `HEALTHCHECK uses the exec form: ${h.args}`);
  return JSON.parse(m[1] as string) as string[];
}

/**
 * What the image is made of, and the image's own command line (ENTRYPOINT + CMD) against output built exactly
 * as the Dockerfile builds it: quick, and without podman. imageInPodman.test.ts runs the image itself.
 */
describe("Dockerfile", () => {
  after(() => rm(OUT, {recursive: true, force: true}));

  it("is multi-stage on node:24-slim, runs as a non-root user, with entrypoint r3dv", async () => {
    const ins = await instructions();
    const froms = ins.filter((i) => i.op === "FROM").map((i) => i.args.split(" ")[0]);
    assert.ok(froms.length >= 2, "multi-stage");
    assert.ok(
      froms.every((f) => f === "node:24-slim"),
      `every stage on node:24-slim: ${froms.join(", ")}`,
    );
    const users = ins.filter((i) => i.op === "USER").map((i) => i.args);
    assert.ok(users.length > 0 && users.at(-1) !== "root" && users.at(-1) !== "0", "final user is not root");
    assert.deepEqual(JSON.parse(ins.find((i) => i.op === "ENTRYPOINT")!.args), ["r3dv"]);
  });

  it("copies only files that exist in the repository", async () => {
    const copies = (await instructions()).filter((i) => i.op === "COPY" && !i.args.startsWith("--from"));
    assert.ok(copies.length > 0);
    for (const c of copies) {
      const parts = c.args.split(/\s+/).filter((p) => !p.startsWith("--"));
      for (const src of parts.slice(0, -1)) await access(join(ROOT, src));
    }
  });

  it("runs `r3dv run` by default, configured by R3DV_* variables, exposing the p2p port but not HTTP", async () => {
    const ins = await instructions();
    assert.deepEqual(JSON.parse(ins.find((i) => i.op === "CMD")!.args), ["run"]);
    const env = imageEnv(ins);
    assert.equal(env.R3DV_DATA_DIR, "/data");
    assert.ok(
      ins.some((i) => i.op === "VOLUME" && i.args.includes("/data")),
      "the data dir is a volume",
    );
    const p2pPort = /\/tcp\/(\d+)$/.exec(env.R3DV_P2P_LISTEN ?? "")?.[1];
    const httpPort = /:(\d+)$/.exec(env.R3DV_HTTP ?? "")?.[1];
    const exposed = ins.filter((i) => i.op === "EXPOSE").flatMap((i) => i.args.split(/\s+/));
    assert.ok(p2pPort && exposed.includes(`${p2pPort}/tcp`), `p2p port ${p2pPort} exposed: ${exposed.join(" ")}`);
    // An EXPOSEd port is what `docker run -P` publishes, on every host interface: HTTP must be published by hand.
    assert.ok(
      httpPort && !exposed.some((p) => p.split("/")[0] === httpPort),
      `HTTP port ${httpPort} not exposed: ${exposed.join(" ")}`,
    );
    assert.doesNotMatch(healthcheck(ins).join(" "), /curl|wget/, "node:24-slim has neither curl nor wget");
  });

  it("docker-compose.yml and the README's docker run publish the HTTP port on the host's 127.0.0.1 only", async () => {
    const httpPort = /:(\d+)$/.exec(imageEnv(await instructions()).R3DV_HTTP ?? "")?.[1] as string;
    const publishes = (mapping: string) => mapping.split(":").at(-1)?.split("/")[0] === httpPort;
    // Compose `ports:` in flow form, one list per service (the form the file uses; a block list would not match).
    const compose = await readFile(join(ROOT, "docker-compose.yml"), "utf8");
    const mappings = [...compose.matchAll(/^\s*ports:\s*(\[.*\])\s*$/gm)].flatMap(
      (m) => JSON.parse(m[1] as string) as string[],
    );
    assert.equal(mappings.filter(publishes).length, 4, `each of the 4 nodes publishes HTTP: ${mappings.join(", ")}`);
    for (const m of mappings.filter(publishes))
      assert.match(m, /^127\.0\.0\.1:\d+:/, `compose publishes HTTP on loopback: ${m}`);
    assert.doesNotMatch(compose, /^\s*ports:\s*$/m, "ports are written in flow form, as this test reads them");
    const readme = (await readFile(join(ROOT, "README.md"), "utf8")).replace(/\\\n/g, " ");
    const runLine = readme.split("\n").find((l) => /docker run .* r3dv\s*$/.test(l));
    assert.ok(runLine, "the README shows a docker run line");
    const published = [...runLine.matchAll(/-p\s+(\S+)/g)].map((m) => m[1] as string);
    assert.ok(published.some(publishes), `README publishes HTTP: ${published.join(", ")}`);
    for (const p of published.filter(publishes))
      assert.match(p, /^127\.0\.0\.1:/, `README publishes HTTP on loopback: ${p}`);
  });

  it("the image's command line works on output built the way the Dockerfile builds it", async () => {
    const ins = await instructions();
    const build = ins.find((i) => i.op === "RUN" && i.args.includes("tsc"))!.args;
    const project = /-p\s+(\S+)/.exec(build)?.[1];
    assert.ok(project, "the build stage names its tsconfig");
    await run(
      process.execPath,
      [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, project), "--outDir", OUT],
      {cwd: ROOT},
    );
    const main = join(OUT, "src/main.js");
    assert.match(await readFile(main, "utf8"), /^#!\/usr\/bin\/env node\n/, "entrypoint script has a node shebang");
    const {stdout} = await run(process.execPath, [main, "--help"], {cwd: ROOT});
    assert.match(stdout, /create-cluster/);

    // `docker run -e ... r3dv`: the image's ENV, with paths and addresses overridden as an operator's -e would
    // (here: a real cluster and the devnet beacon node on this machine), then ENTRYPOINT + CMD.
    const release = await acquireExclusive(MULTIPROCESS_LOCK);
    const c = await makeCluster(4);
    const devnet = await spawnDevnet([
      "--validators",
      "8",
      "--own",
      "none",
      "--genesis-delay",
      "2",
      "--log-level",
      "warn",
    ]);
    const [httpPort] = await freePorts(1);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...imageEnv(ins),
      R3DV_LOCK: c.lock,
      R3DV_NODE_DIR: c.nodeDir(1),
      R3DV_DATA_DIR: c.dataDir(1),
      R3DV_BEACON_NODE: devnet.url,
      R3DV_P2P_LISTEN: `/ip4/127.0.0.1/tcp/${c.ports[0]}`,
      R3DV_HTTP: `127.0.0.1:${httpPort}`,
    };
    delete env.LODESTAR_PRESET;
    const [probe, ...probeArgs] = healthcheck(ins);
    assert.equal(probe, "node");
    const health = () =>
      run(process.execPath, probeArgs, {env}).then(
        () => 0,
        (e: {code?: number}) => e.code ?? 1,
      );
    const cmd = JSON.parse(ins.find((i) => i.op === "CMD")!.args) as string[];
    const node = spawn(process.execPath, [main, ...cmd], {env, cwd: ROOT, stdio: ["ignore", "ignore", "pipe"]});
    let stderr = "";
    node.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      assert.equal(await health(), 1, "unhealthy before the node listens");
      await waitFor(
        "the HEALTHCHECK to pass",
        async () => node.exitCode === null && (await health()) === 0,
        60_000,
        500,
      ).catch((e: unknown) => {
        throw new Error(`${String(e)}; node exit ${node.exitCode}: ${stderr.slice(-2000)}`);
      });
      // `docker stop`: SIGTERM, and the node must be gone before docker's 10 s grace ends in a SIGKILL. Sent
      // right after /livez answers, while the key shares may still be decrypting (a stop mid-start once left
      // a process that never exited).
      const exited = once(node, "exit");
      node.kill("SIGTERM");
      const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      assert.ok(stopped, `the node exits within 10 s of SIGTERM: ${stderr.slice(-2000)}`);
      assert.equal(node.exitCode, 0, `a clean stop exits 0: ${stderr.slice(-2000)}`);
    } finally {
      if (node.exitCode === null && node.signalCode === null) {
        const exited = once(node, "exit");
        node.kill("SIGKILL");
        await exited;
      }
      await devnet.stop();
      await c.cleanup();
      await release();
    }
  });
});
