import assert from "node:assert/strict";
import {link, lstat, mkdir, readFile, rm, stat, symlink, writeFile} from "node:fs/promises";
import {createServer} from "node:net";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {IpcError, IpcServer, ipcRequest} from "../../src/api/ipc.js";
import {createLogger} from "../../src/util/logger.js";
import {tempDir} from "../helpers/cli.js";

const logger = createLogger("error");
const server = (path: string) => new IpcServer(path, async (method) => ({method}), logger);
const notSocket = (kind: string) => (e: unknown) =>
  e instanceof IpcError &&
  (e.type as {code: string; kind?: string}).code === "IPC_PATH_NOT_SOCKET" &&
  (e.type as {kind?: string}).kind === kind &&
  /give --ipc a path of its own/.test(e.message);

describe("IPC socket path", () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await rm(dir, {recursive: true, force: true});
  });

  it("an --ipc path naming a regular file fails the start and leaves the file as it was", async () => {
    const path = join(dir, "keystore-0.json");
    await writeFile(path, "precious");
    const s = server(path);
    try {
      await assert.rejects(s.start(), notSocket("regular file"));
    } finally {
      await s.stop();
    }
    assert.equal(await readFile(path, "utf8"), "precious");
  });

  it("an --ipc path naming a directory fails the start and leaves it", async () => {
    const path = join(dir, "some-dir");
    await mkdir(path);
    await writeFile(join(path, "inside"), "x");
    const s = server(path);
    try {
      await assert.rejects(s.start(), notSocket("directory"));
    } finally {
      await s.stop();
    }
    assert.ok((await stat(join(path, "inside"))).isFile());
  });

  it("an --ipc path naming a symbolic link fails the start and leaves the link and what it points at", async () => {
    const target = join(dir, "cluster-lock.json");
    await writeFile(target, "the lock");
    const path = join(dir, "r3dv.sock");
    await symlink(target, path);
    const s = server(path);
    try {
      await assert.rejects(s.start(), notSocket("symbolic link"));
    } finally {
      await s.stop();
    }
    assert.ok((await lstat(path)).isSymbolicLink());
    assert.equal(await readFile(target, "utf8"), "the lock");
  });

  it("a stale socket left by a killed node is replaced, and stop removes the socket", async () => {
    const path = join(dir, "stale.sock");
    // A killed node leaves its socket file behind, nobody answering on it: made here without killing anything
    // by hard-linking a live socket, whose server then closes (and unlinks only its own name).
    const live = createServer();
    await new Promise<void>((resolve) => live.listen(join(dir, "live.sock"), resolve));
    await link(join(dir, "live.sock"), path);
    await new Promise<void>((resolve) => live.close(() => resolve()));
    assert.ok((await stat(path)).isSocket());
    const s = server(path);
    await s.start();
    try {
      assert.deepEqual(await ipcRequest(path, "status"), {method: "status"});
    } finally {
      await s.stop();
    }
    await assert.rejects(stat(path), (e: NodeJS.ErrnoException) => e.code === "ENOENT");
  });
});
