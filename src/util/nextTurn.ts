/**
 * Runs `fn` on the next event-loop turn, once however often the returned function is called before then: work
 * that arrives in bursts (the chunks of one stream read) is done in one pass, after the loop has served I/O.
 */
export function onNextTurn(fn: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      fn();
    });
  };
}
