import {blsSuite} from "./blsSuite.js";
import type {Suite} from "./harness.js";
import {nodeSuite} from "./nodeSuite.js";

/** Every benchmark suite `npm run bench` runs; `npm run bench -- NAME` runs only the suites whose name contains NAME. */
export const suites: Suite[] = [blsSuite, nodeSuite];
