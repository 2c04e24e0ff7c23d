import type {Logger} from "../../../util/logger.js";
import type {ShareCacheError} from "./shareCache.js";
import type {ShareLoadEvents} from "./shareKeys.js";

/**
 * How often a start decrypting keystores says where it is: often enough that an operator watching a first start
 * of 10,000 shares (about an hour on 2 cores) sees it move, rarely enough that 64 shares log once or twice.
 */
const PROGRESS_EVERY_MS = 10_000;
/** Characters of the text progress bar in the log line. */
const BAR_WIDTH = 20;

/** Logs a start's share loading: a progress bar with the time left while decrypting, and the cache's fate. */
export function shareLoadLog(logger: Logger, now: () => number = Date.now): ShareLoadEvents {
  const started = now();
  let lastLog = started;
  return {
    progress(done, total) {
      const t = now();
      if (done < total && t - lastLog < PROGRESS_EVERY_MS) return;
      lastLog = t;
      const filled = Math.round((done / total) * BAR_WIDTH);
      const leftSec = Math.round((((t - started) / done) * (total - done)) / 1000);
      logger.info(
        `decrypting key shares [${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${done} of ${total}` +
          (done < total ? `, about ${leftSec} s left` : `, in ${Math.round((t - started) / 1000)} s`),
        {done, total, secondsLeft: leftSec},
      );
    },
    cache(outcome: "used" | "written" | ShareCacheError) {
      if (outcome === "used")
        logger.info("key shares read from the share cache (one key derivation)", {ms: now() - started});
      else if (outcome === "written")
        logger.info("share cache written: the next start reads every share with one key derivation");
      else if (outcome.type.code === "SHARE_CACHE_UNWRITABLE")
        logger.warn("share cache not written: the next start decrypts every keystore again", {}, outcome);
      else if (/ENOENT/.test(outcome.type.reason))
        logger.info("no share cache yet (a first start): decrypting every keystore");
      else logger.info("share cache not used: decrypting every keystore", {reason: outcome.type.reason});
    },
  };
}
