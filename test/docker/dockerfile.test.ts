import assert from "node:assert/strict";
import {execFile} from "node:child_process";
import {access, readFile, rm} from "node:fs/promises";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {promisify} from "node:util";
import {after, describe, it} from "node:test";

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

/**
 * No Docker engine runs here, so this checks what the image is made of and runs the image's own command
 * line (ENTRYPOINT + CMD) against output built exactly as the Dockerfile builds it.
 */
describe("Dockerfile", () => {
  after(() => rm(OUT, {recursive: true, force: true}));

  it("is multi-stage on node:24-slim, runs as a non-root user, with entrypoint r3dv", async () => {
    const ins = await instructions();
    const froms = ins.filter((i) => i.op === "FROM").map((i) => i.args.split(" ")[0]);
    assert.ok(froms.length >= 2, "multi-stage");
    assert.ok(froms.every((f) => f === "node:24-slim"), `every stage on node:24-slim: ${froms.join(", ")}`);
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

  it("the image's command line works on output built the way the Dockerfile builds it", async () => {
    const ins = await instructions();
    const build = ins.find((i) => i.op === "RUN" && i.args.includes("tsc"))!.args;
    const project = /-p\s+(\S+)/.exec(build)?.[1];
    assert.ok(project, "the build stage names its tsconfig");
    await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, project), "--outDir", OUT], {cwd: ROOT});
    const main = join(OUT, "src/main.js");
    assert.match(await readFile(main, "utf8"), /^#!\/usr\/bin\/env node\n/, "entrypoint script has a node shebang");
    const cmd = JSON.parse(ins.find((i) => i.op === "CMD")!.args) as string[];
    const {stdout} = await run(process.execPath, [main, ...cmd], {cwd: ROOT});
    assert.match(stdout, /create-cluster/);
  });
});
