import assert from "node:assert/strict";
import {spawn} from "node:child_process";
import {mkdtemp, readFile, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {DUTIES_STARTED_LINE} from "../../src/devnetCluster/logWatch.js";
import {canRaisePriority, deprioritizeWhileStarting, throttleWhileStarting} from "../../src/devnetCluster/priority.js";

/** The fields of /proc/PID/stat after the command's name: [0] is the state (R, S; T when stopped), [16] the nice value. */
async function stat(pid: number): Promise<string[]> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8");
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/**
 * A restarted devnet node is slowed while it derives its keys and left at full speed once its duties start,
 * whatever this process may do: lower and raise its priority (CAP_SYS_NICE), or else pause and resume it.
 */
describe("a restarting devnet node's priority", () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "r3dv-priority-"))));
  after(() => rm(dir, {recursive: true, force: true}));

  for (const path of ["as this process can", "paused and resumed (as without CAP_SYS_NICE)"] as const)
    it(`is slowed until its duties start, then runs as the others do: ${path}`, async () => {
      const throttled = path !== "as this process can" || !(await canRaisePriority());
      const log = join(dir, `node-${throttled}.log`);
      await writeFile(log, "");
      // A stand-in node: it spins (as key derivation does), then logs that its duties started, then idles.
      const child = spawn(
        process.execPath,
        [
          "-e",
          `const end = Date.now() + 3000; while (Date.now() < end); require("fs").appendFileSync(${JSON.stringify(log)}, ${JSON.stringify(`${DUTIES_STARTED_LINE}\n`)}); setInterval(() => {}, 1000);`,
        ],
        {stdio: "ignore"},
      );
      const pid = child.pid as number;
      const alive = () => child.exitCode === null && child.signalCode === null;
      try {
        const signal = new AbortController().signal;
        const note =
          path === "as this process can"
            ? await deprioritizeWhileStarting({pid, alive}, log, 0, signal, 30_000)
            : await throttleWhileStarting({pid, alive}, log, 0, signal, 30_000);
        if (throttled) assert.match(note, /ran a third of the time .* until its duties started$/);
        else assert.match(note, /ran at nice 19 until its duties started$/);
        // Left running, not paused, and not at nice 19 for good.
        const f = await stat(pid);
        assert.notEqual(f[0], "T");
        assert.equal(f[16], "0");
        if (throttled) {
          // Paused two thirds of the time: well under the 3 s (300 ticks of USER_HZ 100) its spin takes unpaused.
          const ticks = Number(f[11]) + Number(f[12]);
          assert.ok(ticks < 200, `${ticks} ticks of CPU while starting`);
        }
      } finally {
        child.kill("SIGKILL");
      }
    });
});
