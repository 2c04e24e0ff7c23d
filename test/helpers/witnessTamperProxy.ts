import type {IncomingMessage, ServerResponse} from "node:http";
import {LoopbackProxy} from "./loopbackProxy.js";

/**
 * A lying execution endpoint in front of a real one: JSON-RPC (single calls and batches) passes through, but every
 * `eth_getProof` answer has
 * its account proof's root node altered by one byte, as an endpoint serving another state (or forging one) would.
 */
export class WitnessTamperProxy extends LoopbackProxy {
  /** eth_getProof answers altered: a test can tell the proxy was really used. */
  tampered = 0;
  /** False: answers pass through unaltered, as the endpoint once fixed would answer. */
  lying = true;

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const upstream = await fetch(this.target, {method: "POST", headers: {"content-type": "application/json"}, body});
    type Answer = {id?: unknown; result?: {accountProof?: string[]}};
    const answer = (await upstream.json()) as Answer | Answer[];
    const request = JSON.parse(body) as {id?: unknown; method?: string} | {id?: unknown; method?: string}[];
    const requests = Array.isArray(request) ? request : [request];
    const answers = Array.isArray(answer) ? answer : [answer];
    for (const a of answers) {
      const proof = a.result?.accountProof;
      if (!this.lying || requests.find((r) => r.id === a.id)?.method !== "eth_getProof" || !proof?.[0]) continue;
      const node = proof[0];
      // The last hex digit flipped: still a well-formed node, no longer the one the state root hashes.
      proof[0] = node.slice(0, -1) + (node.endsWith("0") ? "1" : "0");
      this.tampered++;
    }
    res.writeHead(upstream.status, {"content-type": "application/json"});
    res.end(JSON.stringify(answer));
  }
}
