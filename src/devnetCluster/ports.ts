import {type Server, createServer} from "node:net";

/**
 * `n` distinct free TCP ports on 127.0.0.1, asked of the kernel (port 0) with all `n` listeners open at
 * once, so the answers differ; closed again before the nodes bind them. The gap between the two is the usual
 * race of this approach, harmless on a developer's machine where nothing else binds ports by the second.
 */
export async function freeLocalPorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => resolve());
      });
    }
    return servers.map((s) => (s.address() as {port: number}).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
