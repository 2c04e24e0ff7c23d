import {setHasher} from "@chainsafe/persistent-merkle-tree";
import {hasher} from "@chainsafe/persistent-merkle-tree/hasher/hashtree";

/**
 * Imported first (for its effect) by every entry point that hashes SSZ trees: the native hashtree hasher (SIMD
 * SHA-256 over many nodes at once), as Lodestar's beacon node sets it, instead of persistent-merkle-tree's default,
 * pure-JS noble. Measured on a 1M-validator mainnet state on this 2-core machine: hashing the state 49.3 s → 10.7 s,
 * the EVM role's bootstrap 87 s → 45 s, an epoch's first block 2.7 s → 1.6 s. The hashes are the same either way;
 * persistent-merkle-tree asks for the hasher to be set before other SSZ code runs, hence a module of its own.
 */
setHasher(hasher);
