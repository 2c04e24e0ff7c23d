import {readFileSync} from "node:fs";
import {type Server, createServer} from "node:http";
import {fileURLToPath} from "node:url";

export type Answer = {status: number; body: Record<string, unknown>};

/**
 * Answers recorded from a real Lodestar v1.5.1 (`dev`, minimal, Altair from genesis, slot 4 the head) by
 * asking it each route the duties read; keys are paths with their numbers as `{n}`. Its shapes differ from
 * today's spec: no `finalized` beside a header or committees, `canonical` and `block_value` extra. The
 * aggregate answer is Lodestar's `{data}` around one of the recorded block's attestations.
 */
export const RECORDED = JSON.parse(
  readFileSync(
    fileURLToPath(new URL("../../../test/roles/validator/beacon/lodestar-1.5.1-answers.json", import.meta.url)),
    "utf8",
  ),
) as Record<string, Answer>;
export const HEAD = RECORDED["/eth/v1/beacon/headers/head"]?.body as {
  data: {root: string; header: {message: {slot: string}}};
};
export const HEAD_SLOT = Number(HEAD.data.header.message.slot);
export const MISSING_BLOCK_SLOT = 54;

/**
 * A node:http server answering like that Lodestar; `edit` rewrites an answer before it is sent (given
 * undefined for a route not recorded, which it may answer; else 404 as Lodestar does); `hold` is awaited
 * before each answer (a test sees what is asked, and when, and may keep an answer back).
 */
export async function recordedNode(
  edit: (key: string, a: Answer | undefined) => Answer | undefined = (_k, a) => a,
  hold?: (key: string) => Promise<void>,
): Promise<{url: string; close(): Promise<void>}> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      let posted = "";
      for await (const chunk of req) posted += String(chunk);
      const path = (req.url ?? "").split("?")[0] as string;
      const key = path.replace(/\/\d+(?=\/|$)/g, "/{n}");
      await hold?.(key);
      const missing = key.endsWith("/attestations") && path.includes(`/${MISSING_BLOCK_SLOT}/`);
      const recorded = RECORDED[missing ? `${key} 404` : key];
      const found = recorded && structuredClone(recorded);
      // Duties for the validators asked for, as a node answers them (the recording asked for more).
      if (found && req.method === "POST" && key.includes("/duties/")) {
        const asked = JSON.parse(posted) as string[];
        found.body.data = (found.body.data as {validator_index: string}[]).filter((d) =>
          asked.includes(d.validator_index),
        );
      }
      const a = edit(key, found) ?? {
        status: 404,
        body: {statusCode: 404, error: "Not Found", message: `Route ${path} not found`},
      };
      res.writeHead(a.status, {"content-type": "application/json; charset=utf-8"}).end(JSON.stringify(a.body));
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as {port: number}).port}`;
  return {url, close: () => new Promise<void>((r) => server.close(() => r()))};
}
