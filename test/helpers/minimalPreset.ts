/**
 * Import this first in a test that talks to a minimal-preset chain (Lodestar dev, the embedded devnet):
 * Lodestar's libraries read the preset once, when @lodestar/params is first evaluated, so nothing may
 * import @lodestar/params before this module runs.
 */
import {PresetName, setActivePreset} from "@lodestar/params/setPreset";

setActivePreset(PresetName.minimal);
