/**
 * A Piscina task for workerEventLoop.test.ts: "schedule" leaves a setImmediate behind, as N-API leaves a native
 * object's finalizer; "check" says whether it has run since.
 */
let ran = false;

export default function task(kind: "schedule" | "check"): boolean {
  if (kind === "schedule") {
    ran = false;
    setImmediate(() => (ran = true));
    return true;
  }
  return ran;
}
