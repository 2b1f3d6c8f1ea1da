#!/usr/bin/env node
// Renovate's own file update ("autoReplace", the code that writes a bump into a branch), run on the
// dependencies its extraction found, without a platform: what would each pull request change?
//
// stdin: {"localDir": repo, "packageFiles": [<a package file of `renovate --dry-run=extract`'s report,
//         with each dep given a "newValue">]}
// stdout: [{"depName", "currentValue", "newValue", "newDigest", "content"}] — the package file after each update
// on its own, as the pull request for that one dependency would carry it.
// Needs NODE_PATH pointing at the node_modules holding renovate (tools/node, `make node-tools`).
"use strict";
const { join } = require("node:path");
const { readFileSync } = require("node:fs");

const dist = join(require.resolve("renovate/package.json"), "..", "dist");
const { GlobalConfig } = require(join(dist, "config", "global"));
const { doAutoReplace } = require(join(dist, "workers", "repository", "update", "branch", "auto-replace"));

async function main() {
  const input = JSON.parse(readFileSync(0, "utf8"));
  GlobalConfig.set({ localDir: input.localDir });
  const results = [];
  // Read before any update: Renovate writes each attempt into the work tree.
  const contents = new Map(
    input.packageFiles.map((f) => [f.packageFile, readFileSync(join(input.localDir, f.packageFile), "utf8")]),
  );
  for (const packageFile of input.packageFiles) {
    const { deps, ...manager } = packageFile;
    const content = contents.get(manager.packageFile);
    for (const [depIndex, dep] of deps.entries()) {
      const upgrade = { ...manager, ...dep, manager: input.manager, depIndex };
      const updated = await doAutoReplace(upgrade, content, false);
      results.push({
        depName: dep.depName,
        currentValue: dep.currentValue,
        newValue: dep.newValue,
        newDigest: dep.newDigest,
        content: updated,
      });
    }
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}

main().then(
  () => {
    process.exitCode = 0; // not process.exit(): a pipe may not have taken all of stdout yet
  },
  (err) => {
    process.stderr.write(`autoReplace failed: ${err.stack || err}\n`);
    process.exitCode = 1;
  },
);
