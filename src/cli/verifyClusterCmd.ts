import type {Command} from "commander";
import {verifyCluster} from "../cluster/verifyCluster.js";

export function registerVerifyCluster(program: Command): void {
  program
    .command("verify-cluster")
    .summary("prove a created cluster works: lock, keystores, every m-subset of shares, deposits")
    .argument("<DIR>", "folder written by create-cluster")
    .action(async (dir: string) => {
      const report = await verifyCluster(dir, (line) => console.log(`ok  ${line}`));
      console.log(
        `cluster ${report.lock.name} (${report.lock.lock_hash}) verified: ${report.checks.length} checks passed`,
      );
    });
}
