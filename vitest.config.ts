import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const services = fileURLToPath(new URL("services/", import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run the services and the testkit from their sources, never from a dist/ an edit has
    // left stale, and as one copy: a store test that imports store code and starts a store
    // through @sker/testkit/store meets the same modules (one metrics registry, one AppError).
    alias: [
      { find: /^@sker\/(store|broker|gateway)$/, replacement: `${services}$1/src/start.ts` },
      { find: /^@sker\/testkit\/([\w-]+)$/, replacement: `${services}testkit/src/$1.ts` },
    ],
  },
  test: {
    include: ["services/*/test/**/*.test.ts", "charts/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files run in parallel processes; each isolates its own database, queues and key prefix.
    pool: "forks",
    maxWorkers: 2,
  },
});
