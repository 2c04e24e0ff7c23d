import {chmod, lstat, rm} from "node:fs/promises";
import {type Server, type Socket, connect, createServer} from "node:net";
import {R3dvError, errorMessage} from "../util/errors.js";
import type {Logger} from "../util/logger.js";

/** A request line longer than this is not a tool talking to us: close the connection. */
const MAX_LINE_BYTES = 64 * 1024;

export type IpcErrorType =
  | {code: "IPC_IN_USE"; path: string}
  | {code: "IPC_UNAVAILABLE"; path: string; reason: string}
  | {code: "IPC_PATH_NOT_SOCKET"; path: string; kind: string}
  | {code: "IPC_REMOTE_ERROR"; method: string; reason: string};
export class IpcError extends R3dvError<IpcErrorType> {}

export type IpcHandler = (method: string, params: Record<string, unknown>) => Promise<unknown>;

/**
 * The local control socket: a unix socket only its owner can open (mode 0600), one JSON object per line each
 * way: `{"id":1,"method":"status","params":{}}` -> `{"id":1,"result":{...}}` or `{"id":1,"error":"..."}`.
 */
export class IpcServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly handler: IpcHandler,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (await isListening(this.path)) {
      throw new IpcError(
        {code: "IPC_IN_USE", path: this.path},
        `another r3dv node is already running on ${this.path}; stop it, or give this node its own --data-dir / --ipc`,
      );
    }
    // A socket file left by a killed node: nobody answers on it, so it is safe to replace.
    await removeSocket(this.path);
    const server = createServer((s) => this.serve(s));
    // The umask makes the socket 0600 from the moment it exists; chmod below is belt and braces.
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(this.path, () => resolve());
      });
    } catch (e) {
      throw new IpcError(
        {code: "IPC_UNAVAILABLE", path: this.path, reason: errorMessage(e)},
        `cannot create the IPC socket ${this.path}: ${errorMessage(e)}`,
      );
    } finally {
      process.umask(old);
    }
    await chmod(this.path, 0o600);
    this.server = server;
  }

  private serve(s: Socket): void {
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
    s.on("error", () => undefined);
    let buf = "";
    s.setEncoding("utf8");
    s.on("data", (data: string) => {
      buf += data;
      if (buf.length > MAX_LINE_BYTES) {
        s.destroy();
        return;
      }
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) void this.answer(s, line);
      }
    });
  }

  private async answer(s: Socket, line: string): Promise<void> {
    let id: unknown = null;
    try {
      const req = JSON.parse(line) as {id?: unknown; method?: unknown; params?: unknown};
      id = req.id ?? null;
      if (typeof req.method !== "string") throw new Error("request needs a string `method`");
      const params = req.params && typeof req.params === "object" ? (req.params as Record<string, unknown>) : {};
      const result = await this.handler(req.method, params);
      s.write(JSON.stringify({id, result}) + "\n");
    } catch (e) {
      this.logger.debug("ipc request failed", {reason: errorMessage(e)});
      s.write(JSON.stringify({id, error: errorMessage(e)}) + "\n");
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await removeSocket(this.path).catch(() => undefined);
  }
}

/**
 * Removes the socket at `path`, and nothing else: `--ipc` pointed at a keystore, a lock file or a directory
 * by mistake must fail the start, not delete it. Nothing there is fine.
 */
async function removeSocket(path: string): Promise<void> {
  let kind: string;
  try {
    const st = await lstat(path);
    if (st.isSocket()) return void (await rm(path, {force: true}));
    if (st.isFile()) kind = "regular file";
    else if (st.isDirectory()) kind = "directory";
    else kind = st.isSymbolicLink() ? "symbolic link" : "special file";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    const reason = errorMessage(e);
    throw new IpcError({code: "IPC_UNAVAILABLE", path, reason}, `cannot inspect the IPC path ${path}: ${reason}`);
  }
  throw new IpcError(
    {code: "IPC_PATH_NOT_SOCKET", path, kind},
    `the IPC path ${path} is a ${kind}, not a socket; r3dv replaces only its own stale socket: ` +
      "give --ipc a path of its own",
  );
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** One request to a node's IPC socket (what `r3dv status` and friends use). */
export function ipcRequest<T = unknown>(
  path: string,
  method: string,
  params: Record<string, unknown> = {},
  timeoutMs = 30_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const s = connect(path);
    let buf = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        new IpcError(
          {code: "IPC_UNAVAILABLE", path, reason: "timeout"},
          `node on ${path} did not answer ${method} within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    s.setEncoding("utf8");
    s.once("connect", () => s.write(JSON.stringify({id: 1, method, params}) + "\n"));
    s.on("data", (d: string) => {
      buf += d;
      const i = buf.indexOf("\n");
      if (i < 0) return;
      clearTimeout(timer);
      s.destroy();
      const res = JSON.parse(buf.slice(0, i)) as {result?: T; error?: string};
      if (res.error !== undefined)
        reject(new IpcError({code: "IPC_REMOTE_ERROR", method, reason: res.error}, res.error));
      else resolve(res.result as T);
    });
    s.once("error", (e) => {
      clearTimeout(timer);
      reject(
        new IpcError(
          {code: "IPC_UNAVAILABLE", path, reason: errorMessage(e)},
          `cannot reach a node on ${path}: ${errorMessage(e)}; is \`r3dv run\` running with this --data-dir (or --ipc)?`,
        ),
      );
    });
  });
}
