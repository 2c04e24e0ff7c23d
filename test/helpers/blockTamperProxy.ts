import {type IncomingMessage, type Server, type ServerResponse, createServer} from "node:http";
import {signedBlockHeader} from "../../src/roles/evm/sszFields.js";

/** Where a serialized SignedBeaconBlock keeps its signature: after the message's 4-byte offset. */
const SIGNATURE_OFFSET = 4;

/**
 * A beacon node that serves one block with a broken signature, as a buggy or hostile node would: a proxy in
 * front of a real beacon node that passes everything through, except that the SSZ of the block at `slot` gets
 * one signature byte flipped. The block's root (of its message) is unchanged, so a client asking for it by root
 * gets "that" block, and only the signature check can tell.
 */
export class BlockTamperProxy {
  private server: Server | null = null;
  url = "";
  /** Blocks served tampered, so a test can tell the proxy did its part. */
  tampered = 0;

  constructor(
    private readonly target: string,
    private readonly slot: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server?.address() as {port: number}).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const upstream = await fetch(this.target + (req.url ?? "/"), {
      method: req.method,
      headers: req.headers.accept ? {accept: req.headers.accept} : {},
    });
    const body = new Uint8Array(await upstream.arrayBuffer());
    const isBlock = /^\/eth\/v2\/beacon\/blocks\//.test(req.url ?? "");
    const ssz = upstream.headers.get("content-type")?.includes("octet-stream");
    if (isBlock && ssz) {
      if (signedBlockHeader(body)?.slot === this.slot) {
        body[SIGNATURE_OFFSET + 50] = (body[SIGNATURE_OFFSET + 50] as number) ^ 0xff;
        this.tampered++;
      }
    }
    const headers: Record<string, string> = {};
    for (const name of ["content-type", "eth-consensus-version", "eth-execution-optimistic", "eth-finalized"]) {
      const v = upstream.headers.get(name);
      if (v !== null) headers[name] = v;
    }
    res.writeHead(upstream.status, headers).end(body);
  }
}
