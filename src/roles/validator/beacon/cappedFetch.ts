import {R3dvError} from "../../../util/errors.js";

/**
 * Most bytes read from one beacon node response body. The largest real answers are a produced block with its
 * blobs in JSON (a full execution payload of ~7.5 MB in hex plus, after Fulu, 21 blobs of 256 KiB in hex:
 * ~13 MB); 64 MiB leaves five times that, and stops a broken or hostile node from making the validator buffer
 * gigabytes in the 2 s a request may take.
 */
export const MAX_BEACON_BODY_BYTES = 64 * 1024 * 1024;

export type BodyCapErrorType = {code: "BEACON_BODY_TOO_LARGE"; limitBytes: number; declaredBytes: number | null};
export class BodyCapError extends R3dvError<BodyCapErrorType> {}

/**
 * `fetch` whose response body errors (and closes the connection) as soon as it passes `limit` bytes, or at once
 * when the node declares a longer Content-Length: a drop-in for global fetch, for raw routes and the Lodestar
 * client alike. The count is of decoded bytes, which is what would be held in memory.
 */
export async function cappedFetch(
  input: string | URL | Request,
  init?: RequestInit,
  limit = MAX_BEACON_BODY_BYTES,
): Promise<Response> {
  const res = await fetch(input, init);
  if (!res.body) return res;
  const declared = res.headers.has("content-length") ? Number(res.headers.get("content-length")) : null;
  const tooLarge = () =>
    new BodyCapError(
      {code: "BEACON_BODY_TOO_LARGE", limitBytes: limit, declaredBytes: declared},
      `response body is larger than the ${limit}-byte cap; it was cut off unread (is this a beacon node API?)`,
    );
  const reader = res.body.getReader();
  let seen = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (declared !== null && declared > limit) return fail(ctrl);
      const {done, value} = await reader.read();
      if (done) return ctrl.close();
      seen += value.byteLength;
      if (seen > limit) return fail(ctrl);
      ctrl.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  async function fail(ctrl: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    const e = tooLarge();
    ctrl.error(e);
    // Cancelling the source ends the request: undici closes the connection instead of draining the rest.
    await reader.cancel(e).catch(() => undefined);
  }
  return new Response(body, {status: res.status, statusText: res.statusText, headers: res.headers});
}
