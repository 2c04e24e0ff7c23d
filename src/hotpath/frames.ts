import {Uint8ArrayList} from "uint8arraylist";
import {R3dvError} from "../util/errors.js";

export type FrameErrorType = {code: "FRAME_TOO_LARGE"; length: number; max: number};
export class FrameError extends R3dvError<FrameErrorType> {}

/** u32 big-endian length prefix: one allocation-free header read per frame, no varint loop. */
export function frame(body: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

/** Splits a byte stream into frames; refuses a frame longer than `max` before buffering it. */
export class FrameDecoder {
  private readonly buf = new Uint8ArrayList();

  constructor(private readonly max: number) {}

  push(data: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.buf.append(data);
    const out: Uint8Array[] = [];
    while (this.buf.byteLength >= 4) {
      const len = this.buf.getUint32(0);
      if (len > this.max)
        throw new FrameError(
          {code: "FRAME_TOO_LARGE", length: len, max: this.max},
          `frame of ${len} bytes exceeds ${this.max}`,
        );
      if (this.buf.byteLength < 4 + len) break;
      out.push(this.buf.subarray(4, 4 + len));
      this.buf.consume(4 + len);
    }
    return out;
  }
}
