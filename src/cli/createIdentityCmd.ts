import type {Command} from "commander";
import {createIdentityFile} from "../cluster/identity.js";

export function registerCreateIdentity(program: Command): void {
  program
    .command("create-identity")
    .summary("create this node's libp2p identity key and print its peer id (first step of a DKG)")
    .description(
      "Write NODE_DIR/identity.key (mode 0600; an existing key is never replaced) and print the node's peer id. " +
        "Give the peer id and this node's host:port to whoever writes the cluster definition; the key stays here.",
    )
    .requiredOption("--node-dir <DIR>", "the node's folder (created if missing)")
    .action(async (o: {nodeDir: string}) => {
      const {file, peerId} = await createIdentityFile(o.nodeDir);
      console.error(`wrote ${file}`);
      console.log(peerId);
    });
}
