import {mkdir, readFile} from "node:fs/promises";
import {join} from "node:path";
import {generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf} from "@libp2p/crypto/keys";
import type {PrivateKey} from "@libp2p/interface";
import {peerIdFromPrivateKey} from "@libp2p/peer-id";
import {R3dvError, errorMessage} from "../util/errors.js";
import {assertOwnerOnly} from "./filePermissions.js";
import {writeSecretFile} from "./fsSecure.js";

/** File name of a node's libp2p identity inside its node dir: the protobuf-encoded private key. */
export const IDENTITY_FILE = "identity.key";

export type IdentityErrorType =
  | {code: "IDENTITY_UNREADABLE"; file: string; reason: string}
  | {code: "IDENTITY_EXISTS"; file: string}
  | {code: "IDENTITY_UNWRITABLE"; file: string; reason: string};
export class IdentityError extends R3dvError<IdentityErrorType> {}

/**
 * Ed25519: what libp2p uses by default, and the fastest of its key types to verify (each chunk a node
 * receives carries its origin's identity signature, checked before anything else).
 */
export async function generateIdentity(): Promise<{privateKey: PrivateKey; peerId: string}> {
  const privateKey = await generateKeyPair("Ed25519");
  return {privateKey, peerId: peerIdFromPrivateKey(privateKey).toString()};
}

export async function writeIdentity(file: string, privateKey: PrivateKey): Promise<void> {
  await writeSecretFile(file, privateKeyToProtobuf(privateKey));
}

export async function loadIdentity(file: string): Promise<{privateKey: PrivateKey; peerId: string}> {
  await assertOwnerOnly(file, "node identity");
  try {
    const privateKey = privateKeyFromProtobuf(await readFile(file));
    return {privateKey, peerId: peerIdFromPrivateKey(privateKey).toString()};
  } catch (e) {
    throw new IdentityError(
      {code: "IDENTITY_UNREADABLE", file, reason: errorMessage(e)},
      `cannot load node identity ${file}: ${errorMessage(e)}`,
    );
  }
}

/**
 * An operator's own identity for a DKG: made on its machine, so only the peer id ever leaves it. Never replaces
 * an existing key: the old one may already be named in a definition or a lock, and losing it locks the node out.
 */
export async function createIdentityFile(nodeDir: string): Promise<{file: string; peerId: string}> {
  const file = join(nodeDir, IDENTITY_FILE);
  const {privateKey, peerId} = await generateIdentity();
  try {
    // 0700 like create-cluster's node folders: the folder will also hold the share keystores.
    await mkdir(nodeDir, {recursive: true, mode: 0o700});
    await writeIdentity(file, privateKey);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      throw new IdentityError(
        {code: "IDENTITY_EXISTS", file},
        `${file} already exists: r3dv never replaces a node identity (its peer id may be in a definition or lock); ` +
          `print its peer id with r3dv create-identity on a new folder, or move the old key away first`,
      );
    }
    throw new IdentityError(
      {code: "IDENTITY_UNWRITABLE", file, reason: errorMessage(e)},
      `cannot write node identity ${file}: ${errorMessage(e)}`,
    );
  }
  return {file, peerId};
}
