import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {ignores: ["dist/", "dist-docker-test/", "dist-scale/", "dist-bench/", "node_modules/", "bench/results/", "test/harness/lodestar/node_modules/"]},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      // Lodestar's conventions: built-ins through `node:`, no stray console output outside the CLI layer.
      "no-restricted-imports": ["error", {patterns: [{regex: "^(fs|path|os|crypto|child_process|worker_threads|net|http)$", message: "import Node built-ins with the node: prefix"}]}],
      "@typescript-eslint/no-unused-vars": ["error", {argsIgnorePattern: "^_", varsIgnorePattern: "^_"}],
      "@typescript-eslint/consistent-type-imports": "error",
      "eqeqeq": ["error", "always"],
      "no-console": ["error", {allow: ["warn", "error"]}],
    },
  },
  {
    // Tool configs that must be CommonJS (dependency-cruiser's).
    files: ["**/*.cjs"],
    languageOptions: {sourceType: "commonjs", globals: {module: "writable"}},
  },
  {
    // The CLI and benchmarks talk to a person on stdout by design.
    files: ["src/cli/**/*.ts", "src/main.ts", "bench/**/*.ts"],
    rules: {"no-console": "off"},
  },
);
