// The devnet runs Lodestar's minimal preset, which must be chosen before any @lodestar package is loaded.
import "../src/devnet/preset.js";
// The native SSZ hasher, as every r3dv process sets it.
import "../src/util/nativeHasher.js";
import {beaconSuite} from "./beaconSuite.js";
import {blsSuite} from "./blsSuite.js";
import {devnetSuite} from "./devnetSuite.js";
import {dkgSuite} from "./dkgSuite.js";
import {dutySuite} from "./dutySuite.js";
import {evmDutyCostSuite} from "./evmDutyCostSuite.js";
import {evmMainnetSuite} from "./evmMainnetSuite.js";
import {evmSuite} from "./evmSuite.js";
import {floodSuite} from "./floodSuite.js";
import {keysSuite} from "./keysSuite.js";
import type {Suite} from "./harness.js";
import {nodeSuite} from "./nodeSuite.js";
import {scaleSuite} from "./scaleSuite.js";
import {slashingSuite} from "./slashingSuite.js";

/** Every benchmark suite `npm run bench` runs; `npm run bench -- NAME` runs only the suites whose name contains NAME. */
export const suites: Suite[] = [
  blsSuite,
  beaconSuite,
  devnetSuite,
  nodeSuite,
  floodSuite,
  dutySuite,
  slashingSuite,
  evmSuite,
  evmDutyCostSuite,
  evmMainnetSuite,
  dkgSuite,
  keysSuite,
  scaleSuite,
];
