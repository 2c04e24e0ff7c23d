/**
 * Options every Piscina pool of this project takes: tasks reach a worker as port messages, so the worker's event
 * loop runs whenever its queue of task messages is empty (between tasks, at the latest after a slot's burst).
 *
 * Piscina's default (`atomics: "sync"`) makes an idle worker block in `Atomics.wait` and read its next task
 * without ever returning to its event loop. Node runs native addons' finalizers from that event loop (N-API defers
 * them with `SetImmediate`), so in a busy pool they never ran: each blst `PublicKey`/`Signature` a task made
 * kept its native memory after V8 had collected the object. At 10,000 validators that was ~10 MB a minute of
 * live blst allocations per node, most of the anonymous memory growth seen at that size (jemalloc's heap profile of
 * the scale bench). A port message costs tens of microseconds, against tasks of a millisecond or more.
 */
export const WORKER_EVENT_LOOP = {atomics: "disabled"} as const;
