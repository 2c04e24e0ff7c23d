#!/usr/bin/env node
/** r3dv CLI entry point. Checks the runtime before loading anything that needs Node 22+. */
const MIN_NODE_MAJOR = 22;
const major = Number(process.versions.node.split(".")[0]);
if (major < MIN_NODE_MAJOR) {
  console.error(
    `r3dv: error: Node ${process.versions.node} is too old; r3dv needs Node >= ${MIN_NODE_MAJOR}. ` +
      "Run it through npm (npx r3dv, npm start), which uses the project's own Node 24, or install Node 24.",
  );
  process.exit(1);
}
const {runCli} = await import("./cli/index.js");
process.exitCode = await runCli(process.argv);
