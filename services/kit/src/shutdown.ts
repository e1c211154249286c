import type { Logger } from "./logger.js";

type Step = { name: string; run: () => Promise<unknown> | unknown };

/**
 * Runs the registered steps in order on SIGTERM/SIGINT (or when called), each bounded by the
 * remaining time, then exits 0. A second signal exits at once.
 */
export function onShutdown(log: Logger, timeoutMs: number, exit = true) {
  const steps: Step[] = [];
  let running: Promise<void> | undefined;
  const run = (reason: string) =>
    (running ??= (async () => {
      log.info({ reason }, "shutting down");
      const deadline = Date.now() + timeoutMs;
      for (const step of steps) {
        const left = Math.max(deadline - Date.now(), 100);
        try {
          await Promise.race([Promise.resolve().then(step.run), new Promise((_, rej) => setTimeout(() => rej(new Error("timed out")), left).unref())]);
        } catch (err) {
          log.warn({ err, step: step.name }, "shutdown step failed");
        }
      }
      log.info("shut down");
      if (exit) process.exit(0);
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    if (running) process.exit(1);
    void run(sig);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return {
    add(name: string, fn: Step["run"]) {
      steps.push({ name, run: fn });
    },
    run,
  };
}
