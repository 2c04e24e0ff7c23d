import {errorMessage} from "../../util/errors.js";

export interface RpcCall {
  method: string;
  params: unknown[];
}

/**
 * JSON-RPC calls sent as one batch (one HTTP request), answers in call order; throws with what went wrong (no
 * answer, not JSON, a call's error). Hand-written because ethereumjs' fetchFromProvider sends one call per
 * request, and a block's proofs are a dozen calls that every execution client answers as one batch.
 */
export async function jsonRpcBatch(url: string, calls: RpcCall[], timeoutMs: number): Promise<unknown[]> {
  if (calls.length === 0) return [];
  const body = calls.map((c, id) => ({jsonrpc: "2.0", id, method: c.method, params: c.params}));
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new Error(`no answer from the execution endpoint: ${errorMessage(e)}`);
  }
  if (!res.ok) throw new Error(`the execution endpoint answered HTTP ${res.status}`);
  let answers: unknown;
  try {
    answers = await res.json();
  } catch (e) {
    throw new Error(`the execution endpoint's answer is not JSON: ${errorMessage(e)}`);
  }
  if (!Array.isArray(answers)) throw new Error("the execution endpoint did not answer the batch with a list");
  type Answer = {id?: unknown; result?: unknown; error?: {message?: unknown}};
  const byId = new Map<unknown, Answer>();
  for (const a of answers as Answer[]) byId.set(a?.id, a);
  return calls.map((c, id) => {
    const a = byId.get(id);
    if (!a) throw new Error(`the execution endpoint left ${c.method} unanswered`);
    if (a.error) throw new Error(`${c.method}: ${String(a.error.message)}`);
    return a.result;
  });
}
