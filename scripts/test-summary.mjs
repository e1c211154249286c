// Prints `N passed, N failed` from vitest's JSON report. A file that failed to load (no test
// ran in it) counts as one failure, so a broken import cannot pass silently; so does a run that
// vitest failed for errors outside any test (unhandled errors: its exit code, argv[3]).
import { readFileSync } from "node:fs";

const r = JSON.parse(readFileSync(process.argv[2], "utf8"));
const brokenFiles = (r.testResults ?? []).filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed")).length;
const skipped = r.numPendingTests + r.numTodoTests;
if (skipped > 0) console.log(`${skipped} skipped (not counted as passed)`);
let failed = r.numFailedTests + brokenFiles;
if (failed === 0 && Number(process.argv[3] ?? 0) !== 0) {
  console.log("vitest failed outside the tests (unhandled errors above): counted as 1 failure");
  failed = 1;
}
console.log(`${r.numPassedTests} passed, ${failed} failed`);
