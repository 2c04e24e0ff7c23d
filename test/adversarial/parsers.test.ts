import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {mkdtemp, rm, writeFile} from "node:fs/promises";
import {connect} from "node:net";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, describe, it} from "node:test";
import {ssz} from "@lodestar/types";
import {IpcServer, ipcRequest} from "../../src/api/ipc.js";
import {LockError, parseLock} from "../../src/cluster/lock.js";
import {KeystoreError, decryptKeystoreFile, encryptKeystore} from "../../src/cluster/keystores.js";
import {type Chunk, decodeChunk, encodeChunk} from "../../src/hotpath/chunk.js";
import {FrameDecoder, frame} from "../../src/hotpath/frames.js";
import {interopSecretKey} from "../../src/hotpath/interop.js";
import {
  decodeAttestationValue,
  encodeAttestationValue,
} from "../../src/roles/validator/duties/attester/attestationValue.js";
import {decodePartialSigs, encodePartialSigs} from "../../src/roles/validator/exchange/partialSigs.js";
import {decodeSignedQbft, encodeSignedQbft} from "../../src/roles/validator/consensus/codec.js";
import type {SignedQbft} from "../../src/roles/validator/consensus/types.js";
import {
  decodePushAnswer,
  decodePushRequest,
  encodePushAnswer,
  encodePushRequest,
} from "../../src/roles/store/pushWire.js";
import {createLogger} from "../../src/util/logger.js";
import {assertRefusesCleanly, mutations} from "./fuzz.js";

/**
 * Every parser that takes outside data, fed what a hostile peer, beacon node or local user can send: each
 * input is either understood exactly (re-encoding gives the same bytes, so no two encodings alias one message)
 * or refused with a typed error; nothing crashes the node.
 */
describe("hostile input to every parser", () => {
  const chunk: Chunk = {
    kind: "qbft",
    slot: 1234,
    origin: 2,
    seq: 7,
    t: 1_700_000_000_000,
    payload: randomBytes(300),
    sig: randomBytes(64),
  };

  it("chunks: understood exactly or refused with a code", () => {
    const valid = encodeChunk(chunk);
    const v = assertRefusesCleanly("decodeChunk", mutations(valid, 1), decodeChunk, (input, out) => {
      assert.deepEqual(Buffer.from(encodeChunk(out)), Buffer.from(input), "a chunk that re-encodes differently");
    });
    assert.ok(v.refused > 0 && v.accepted > 0, JSON.stringify(v));
  });

  it("frames: a length beyond the limit is refused before it is buffered", () => {
    const decoder = () => new FrameDecoder(4096);
    assertRefusesCleanly("FrameDecoder", mutations(frame(randomBytes(100)), 2), (b) => decoder().push(b));
    const d = decoder();
    assert.throws(() => d.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), {code: "FRAME_TOO_LARGE"});
  });

  it("QBFT messages: understood exactly or refused with a code", () => {
    const msg = (type: SignedQbft["msg"]["type"], sender: number): SignedQbft => ({
      msg: {
        instance: "attester/1234",
        type,
        round: 2,
        sender,
        valueHash: randomBytes(32),
        value: type === "PREPARE" ? null : randomBytes(80),
        preparedRound: 0,
      },
      sig: randomBytes(64),
      justification: [],
    });
    const signed: SignedQbft = {
      ...msg("PRE_PREPARE", 1),
      justification: [msg("ROUND_CHANGE", 2), msg("ROUND_CHANGE", 3), msg("PREPARE", 4)],
    };
    const v = assertRefusesCleanly(
      "decodeSignedQbft",
      mutations(encodeSignedQbft(signed), 3),
      (b) => decodeSignedQbft(b),
      (input, out) => {
        assert.deepEqual(
          Buffer.from(encodeSignedQbft(out)),
          Buffer.from(input),
          "a QBFT message that re-encodes differently",
        );
      },
    );
    assert.ok(v.refused > 0, JSON.stringify(v));
  });

  it("push requests and answers: refused with a code when malformed", () => {
    assertRefusesCleanly(
      "decodePushRequest",
      mutations(encodePushRequest(9, encodeChunk(chunk)), 4),
      decodePushRequest,
    );
    assertRefusesCleanly(
      "decodePushAnswer",
      mutations(encodePushAnswer(9, {status: "refused", limiter: "economic", reason: "storage_full"}), 5),
      decodePushAnswer,
    );
  });

  it("partial signature batches: anything but a well-formed batch is dropped", () => {
    const batch = {
      duty: "attester",
      slot: 1234,
      sigs: [{pubkey: `0x${"ab".repeat(48)}`, root: `0x${"cd".repeat(32)}`, sig: `0x${"ef".repeat(96)}`}],
    };
    const valid = encodePartialSigs(batch);
    let understood = 0;
    for (const input of mutations(valid, 6)) {
      const out = decodePartialSigs(input);
      if (out === null) continue;
      understood++;
      // A batch that parses is one the schema allows: every field of the right shape.
      for (const s of out.sigs) assert.match(`${s.pubkey}${s.root}${s.sig}`, /^(0x[0-9a-f]+)+$/);
    }
    assert.ok(understood > 0);
    assert.equal(
      decodePartialSigs(Buffer.from(JSON.stringify({...batch, sigs: Array(10_001).fill(batch.sigs[0])}))),
      null,
      "more partials than any cluster has validators",
    );
  });

  it("agreed attestation values: anything but whole records is dropped", () => {
    const data = ssz.phase0.AttestationData.defaultValue();
    data.slot = 1234;
    const valid = encodeAttestationValue(
      new Map([
        [0, data],
        [3, data],
      ]),
    );
    for (const input of mutations(valid, 7)) {
      const out = decodeAttestationValue(input);
      if (out !== null)
        assert.deepEqual(
          Buffer.from(encodeAttestationValue(out)),
          Buffer.from(input),
          "an attestation value that re-encodes differently",
        );
    }
  });

  describe("files an operator is handed", () => {
    let dir = "";
    after(() => rm(dir, {recursive: true, force: true}));

    it("locks: garbage, wrong types and missing fields are refused with the field named", async () => {
      const cases = [
        "",
        "{",
        "null",
        "[]",
        '{"threshold": "three"}',
        '{"operators": [{}]}',
        JSON.stringify({lock_hash: "0x00", operators: [], validators: [], threshold: Number.MAX_VALUE * 2}),
      ];
      for (const text of cases) {
        await assert.rejects(parseLock(text, "cluster-lock.json"), (e: unknown) => {
          assert.ok(e instanceof LockError, `${text}: ${String(e)}`);
          assert.match(e.message, /cluster-lock\.json/);
          return true;
        });
      }
    });

    it("keystores: garbage and a wrong password are refused with what to check", async () => {
      dir = await mkdtemp(join(tmpdir(), "r3dv-adversarial-"));
      const good = await encryptKeystore(interopSecretKey(0), "right password", "pbkdf2", "test");
      const file = join(dir, "keystore.json");
      await writeFile(file, JSON.stringify(good), {mode: 0o600});
      await assert.rejects(
        decryptKeystoreFile(file, "wrong password"),
        (e: unknown) =>
          e instanceof KeystoreError && e.code === "KEYSTORE_WRONG_PASSWORD" && /password file/.test(e.message),
      );
      const text = JSON.stringify(good);
      const other = await encryptKeystore(interopSecretKey(1), "right password", "pbkdf2", "test");
      const bad = {
        empty: "",
        "not a keystore": "{}",
        truncated: text.slice(0, text.length / 2),
        "an impossible KDF cost": text.replace(/"c":\d+/, '"c":-1'),
        "another key's public key": text.replace(/"pubkey":"[0-9a-f]*"/, `"pubkey":"${other.pubkey}"`),
      };
      for (const [what, content] of Object.entries(bad)) {
        assert.notEqual(content, text, what);
        await writeFile(file, content, {mode: 0o600});
        await assert.rejects(
          decryptKeystoreFile(file, "right password"),
          (e: unknown) => e instanceof KeystoreError && e.message.includes(file),
          what,
        );
      }
    });
  });

  describe("the IPC socket", () => {
    let dir = "";
    let server: IpcServer | undefined;
    after(async () => {
      await server?.stop();
      await rm(dir, {recursive: true, force: true});
    });

    it("answers garbage lines with an error and keeps serving", async () => {
      dir = await mkdtemp(join(tmpdir(), "r3dv-adversarial-ipc-"));
      const path = join(dir, "node.sock");
      server = new IpcServer(path, async (method) => ({echo: method}), createLogger("error"));
      await server.start();
      const answers = await new Promise<string[]>((resolve, reject) => {
        const s = connect(path);
        let buf = "";
        s.setEncoding("utf8");
        s.on("data", (d: string) => {
          buf += d;
          if (buf.split("\n").length > 5) {
            s.destroy();
            resolve(buf.trim().split("\n"));
          }
        });
        s.on("error", reject);
        s.write('not json\n{"id":1}\n{"id":2,"method":42}\n[1,2,3]\n{"id":3,"method":"status","params":"x"}\n');
      });
      assert.equal(answers.length, 5);
      for (const a of answers.slice(0, 4)) assert.ok((JSON.parse(a) as {error?: string}).error, a);
      assert.deepEqual(JSON.parse(answers[4] as string), {id: 3, result: {echo: "status"}});
      // A line longer than the limit closes that connection only: the server still answers the next one.
      await new Promise<void>((resolve) => {
        const s = connect(path, () => s.write("x".repeat(2 << 20)));
        s.on("error", () => resolve());
        s.on("close", () => resolve());
      });
      assert.deepEqual(await ipcRequest(path, "peers"), {echo: "peers"});
    });
  });
});
