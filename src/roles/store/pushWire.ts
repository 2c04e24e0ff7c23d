import {R3dvError} from "../../util/errors.js";

export type PushWireErrorType = {code: "PUSH_MALFORMED"; what: "request" | "answer"; length: number};
export class PushWireError extends R3dvError<PushWireErrorType> {}

/** `/r3dv/push/1` frames. One long-lived stream per sender carries many pushes, matched by request id. */
export const PUSH_PROTOCOL = "/r3dv/push/1";
export const FETCH_PROTOCOL = "/r3dv/fetch/1";

export type PushStatus = "accepted" | "duplicate" | "refused";
const STATUSES: PushStatus[] = ["accepted", "duplicate", "refused"];

export interface PushAnswer {
  status: PushStatus;
  /** For refusals: the limiter (or check) that refused: economic, objective, w_tracking, topology, rate, queue, signature, malformed. */
  limiter?: string;
  reason?: string;
}

/** Request: reqId u32 | encoded chunk. */
export function encodePushRequest(reqId: number, chunk: Uint8Array): Uint8Array {
  const b = Buffer.allocUnsafe(4 + chunk.length);
  b.writeUInt32BE(reqId, 0);
  b.set(chunk, 4);
  return b;
}

export function decodePushRequest(frame: Uint8Array): {reqId: number; chunk: Uint8Array} {
  if (frame.length < 4) {
    throw new PushWireError(
      {code: "PUSH_MALFORMED", what: "request", length: frame.length},
      `push request of ${frame.length} bytes: a request id (4 bytes) and a chunk expected`,
    );
  }
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  return {reqId: b.readUInt32BE(0), chunk: b.subarray(4)};
}

/** Answer: reqId u32 | status u8 | "limiter:reason" in UTF-8 (empty when accepted). */
export function encodePushAnswer(reqId: number, a: PushAnswer): Uint8Array {
  const detail = a.status === "refused" ? Buffer.from(`${a.limiter ?? ""}:${a.reason ?? ""}`, "utf8") : Buffer.alloc(0);
  const b = Buffer.allocUnsafe(5 + detail.length);
  b.writeUInt32BE(reqId, 0);
  b[4] = STATUSES.indexOf(a.status);
  b.set(detail, 5);
  return b;
}

export function decodePushAnswer(frame: Uint8Array): {reqId: number; answer: PushAnswer} {
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const status = STATUSES[b[4] as number];
  if (b.length < 5 || !status) {
    throw new PushWireError(
      {code: "PUSH_MALFORMED", what: "answer", length: b.length},
      `malformed push answer of ${b.length} bytes: a request id (4 bytes) and a status expected`,
    );
  }
  if (status !== "refused") return {reqId: b.readUInt32BE(0), answer: {status}};
  const detail = b.subarray(5).toString("utf8");
  const i = detail.indexOf(":");
  return {reqId: b.readUInt32BE(0), answer: {status, limiter: detail.slice(0, i), reason: detail.slice(i + 1)}};
}
