import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { AppError } from "@sker/kit";
import { Gate } from "../src/tasks/pipeline-gate.js";

describe("the task pipeline's gate on the database pool", () => {
  it("runs at most `limit` calls at once, the others in the order they came, and every one to its end", async () => {
    const gate = new Gate(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const calls = Array.from({ length: 7 }, (_, i) =>
      gate.run(new AbortController().signal, async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await sleep(10);
        running--;
        return i * 10;
      }),
    );
    expect(await Promise.all(calls)).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("a waiter whose caller gave up leaves the line with the call's error and takes no slot; a failing call frees its slot", async () => {
    const gate = new Gate(1);
    let release!: () => void;
    const holder = gate.run(new AbortController().signal, () => new Promise<void>((r) => (release = r)));
    const gone = new AbortController();
    const waiter = gate.run(gone.signal, async () => "ran anyway");
    const after = gate.run(new AbortController().signal, async () => "next");
    gone.abort(new AppError("DEADLINE_EXCEEDED", "deadline exceeded"));
    await expect(waiter).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    expect(gate.waiting).toBe(1);
    release();
    await holder;
    expect(await after).toBe("next");
    await expect(gate.run(new AbortController().signal, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await gate.run(new AbortController().signal, async () => "free again")).toBe("free again");
    // A caller already gone never queues.
    const done = new AbortController();
    done.abort(new AppError("UNAVAILABLE", "call cancelled"));
    const blocker = gate.run(new AbortController().signal, () => sleep(20));
    await expect(gate.run(done.signal, async () => "no")).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await blocker;
  });
});
