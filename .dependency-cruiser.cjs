/**
 * The architecture's import rules, checked by `npm run lint` (DESIGN.md: the folder layout is the architecture).
 * Each rule says which way knowledge may flow; a new import that breaks one is a design change to talk about,
 * not a lint warning to silence.
 */
const V = "^src/roles/validator/";
/** The validator pipeline's steps: each a folder under roles/validator that no duty type owns. */
const STEPS = `${V}(schedule|beacon|consensus|signing|exchange|tracking|verifiedChain)/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-runtime-cycle",
      comment:
        "Modules that need each other at run time load in an order that depends on who imports first. A cycle " +
        "through a type-only import is allowed: it is gone once compiled.",
      severity: "error",
      from: {},
      to: {circular: true, viaOnly: {dependencyTypesNot: ["type-only"]}},
    },
    {
      name: "src-not-test-or-bench",
      comment: "Shipped code never depends on tests or benchmarks.",
      severity: "error",
      from: {path: "^src/"},
      to: {path: "^(test|bench)/"},
    },
    {
      name: "hotpath-is-pure",
      comment: "Cryptography and encodings: no I/O, no runtime; everything else builds on them.",
      severity: "error",
      from: {path: "^src/hotpath/"},
      to: {path: "^src/", pathNot: "^src/(hotpath|util)/"},
    },
    {
      name: "storage-below-roles",
      comment: "LMDB stores (series, slashing protection) know nothing of the roles that fill them.",
      severity: "error",
      from: {path: "^src/storage/"},
      to: {path: "^src/", pathNot: "^src/(storage|hotpath|util)/"},
    },
    {
      name: "roles-below-runtime",
      comment: "A role is started and wired by the node runtime; it never reaches back into it or into the CLI.",
      severity: "error",
      from: {path: "^src/roles/"},
      to: {path: "^src/(node|cli|devnet|devnetCluster)/|^src/main\\.ts$"},
    },
    {
      name: "validator-through-its-transport",
      comment: "The validator role talks to its peers only through ClusterTransport, never to libp2p or the store.",
      severity: "error",
      from: {path: V},
      to: {path: "^src/roles/(dht|store)/"},
    },
    {
      name: "steps-below-duties",
      comment:
        "The pipeline's steps serve every duty type: none may know a duty type, or the role that wires them.",
      severity: "error",
      from: {path: STEPS},
      to: {path: `${V}(duties/|validatorRole\\.ts$)`},
    },
    {
      name: "duty-types-apart",
      comment: "Duty types share only the steps; one needing another's data gets it from validatorRole.ts's wiring.",
      severity: "error",
      from: {path: `${V}duties/([^/]+)/`},
      to: {path: `${V}duties/`, pathNot: `${V}duties/$1/`},
    },
    {
      name: "evm-role-apart",
      comment:
        "The EVM role verifies the chain from what its beacon node serves; the validator role will read its verdicts " +
        "(never the other way round), and chunks will reach peers through an interface, not the store's internals.",
      severity: "error",
      from: {path: "^src/roles/evm/"},
      to: {path: "^src/roles/(validator|dht|store)/"},
    },
    {
      name: "devnet-stands-alone",
      comment: "The embedded devnet is a beacon chain of its own: it must not borrow r3dv's client code.",
      severity: "error",
      from: {path: "^src/devnet/"},
      to: {path: "^src/", pathNot: "^src/(devnet|hotpath|util)/"},
    },
  ],
  options: {
    doNotFollow: {path: "node_modules"},
    tsConfig: {fileName: "tsconfig.json"},
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {extensions: [".ts", ".js"]},
  },
};
