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
// Lodestar freezes its preset when @lodestar/params is first loaded (the CLI's imports do that): the devnet runs
// the minimal preset, so it must be chosen before anything is imported.
if (process.env.LODESTAR_PRESET === undefined) {
  const {presetForCommand} = await import("./presetForCommand.js");
  const preset = presetForCommand(process.argv.slice(2), process.env);
  if (preset) process.env.LODESTAR_PRESET = preset;
}
// Every SSZ tree this process hashes (the devnet's states, the EVM role's) with the native hasher, set first.
await import("./util/nativeHasher.js");
const {runCli} = await import("./cli/index.js");
process.exitCode = await runCli(process.argv);
