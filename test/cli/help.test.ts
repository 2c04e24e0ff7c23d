import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import {describe, it} from "node:test";
import {runR3dv} from "../helpers/cli.js";

const COMMANDS = ["create-cluster", "verify-cluster", "devnet", "slashing-protection"];

describe("r3dv --help", () => {
  it("lists every command with a one-line purpose", async () => {
    const res = await runR3dv(["--help"]);
    assert.equal(res.code, 0);
    for (const c of COMMANDS) assert.match(res.stdout, new RegExp(`^  ${c}\\b.*\\S+ \\S+`, "m"), `${c} listed with a summary`);
  });

  it("answers an unknown command with usage and exit code 2", async () => {
    const res = await runR3dv(["frobnicate"]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown command 'frobnicate'/);
  });

  it("refuses an old Node with a message that says how to run it", async (t) => {
    // The machine's own node (20) is too old; the project runs on the `node` package's 24.
    let oldNode: string | undefined;
    for (const candidate of ["/usr/local/bin/node", "/usr/bin/node"]) {
      try {
        const v = execFileSync(candidate, ["-p", "process.versions.node"], {encoding: "utf8"}).trim();
        if (Number(v.split(".")[0]) < 22) oldNode = candidate;
      } catch {
        // not installed at this path
      }
    }
    if (!oldNode) return t.skip("no Node older than 22 on this machine");
    const res = await runR3dv(["--help"], {node: oldNode});
    assert.equal(res.code, 1);
    assert.match(res.stderr, /needs Node >= 22/);
  });
});
