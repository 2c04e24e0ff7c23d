import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import {describe, it} from "node:test";
import {runR3dv} from "../helpers/cli.js";

const COMMANDS = ["create-cluster", "verify-cluster", "devnet", "slashing-protection"];

describe("r3dv --help", () => {
  it("lists every command with a one-line purpose", async () => {
    const res = await runR3dv(["--help"]);
    assert.equal(res.code, 0);
    for (const c of COMMANDS)
      assert.match(res.stdout, new RegExp(`^  ${c}\\b.*\\S+ \\S+`, "m"), `${c} listed with a summary`);
  });

  it("answers an unknown command with usage and exit code 2", async () => {
    const res = await runR3dv(["frobnicate"]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown command 'frobnicate'/);
  });

  it("refuses an old Node with a message that says how to run it", async () => {
    // Node 20 as this project's Node sees it: the check reads process.versions, which a preload can set. That
    // runs everywhere; where an older Node is installed (the system's 20 here and in CI) it runs the real one too.
    const asNode20 = `--import=data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"20.0.0"}})`;
    const emulated = await runR3dv(["--help"], {nodeArgs: [asNode20]});
    assert.equal(emulated.code, 1, emulated.stderr);
    assert.match(emulated.stderr, /Node 20\.0\.0 is too old; r3dv needs Node >= 22\. Run it through npm/);
    for (const oldNode of installedOldNodes()) {
      const res = await runR3dv(["--help"], {node: oldNode});
      assert.equal(res.code, 1, `${oldNode}: ${res.stderr}`);
      assert.match(res.stderr, /is too old; r3dv needs Node >= 22/);
    }
  });
});

/** Node binaries older than 22 at the usual system paths (the project itself runs on the `node` package's 24). */
function installedOldNodes(): string[] {
  return ["/usr/local/bin/node", "/usr/bin/node"].filter((candidate) => {
    try {
      return Number(execFileSync(candidate, ["-p", "process.versions.node"], {encoding: "utf8"}).split(".")[0]) < 22;
    } catch {
      return false; // not installed at this path
    }
  });
}
