import type {IncomingMessage, ServerResponse} from "node:http";
import {LoopbackProxy} from "./loopbackProxy.js";
import {signedBlockHeader} from "../../src/roles/evm/sszFields.js";

/** Where a serialized SignedBeaconBlock keeps its signature: after the message's 4-byte offset. */
const SIGNATURE_OFFSET = 4;

/**
 * A beacon node that serves one block with a broken signature, as a buggy or hostile node would: a proxy in
 * front of a real beacon node that passes everything through, except that the SSZ of the block at `slot` gets
 * one signature byte flipped. The block's root (of its message) is unchanged, so a client asking for it by root
 * gets "that" block, and only the signature check can tell.
 */
export class BlockTamperProxy extends LoopbackProxy {
  /** Blocks served tampered, so a test can tell the proxy did its part. */
  tampered = 0;

  constructor(
    target: string,
    private readonly slot: number,
  ) {
    super(target);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
