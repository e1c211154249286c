// Prints `N passed, N failed` from vitest's JSON report. A file that failed to load (no test
// ran in it) counts as one failure, so a broken import cannot pass silently.
import { readFileSync } from "node:fs";

const r = JSON.parse(readFileSync(process.argv[2], "utf8"));
const brokenFiles = (r.testResults ?? []).filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed")).length;
const skipped = r.numPendingTests + r.numTodoTests;
if (skipped > 0) console.log(`${skipped} skipped (not counted as passed)`);
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + brokenFiles} failed`);
