import { describe, expect, it } from "vitest";
import { admissionGate } from "../src/admission.js";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("admission gate", () => {
  it("runs at most `limit` at once and lets the rest in, in arrival order, as each ends", async () => {
    const gate = admissionGate(2);
    const started: number[] = [];
    const finish: (() => void)[] = [];
    const runs = [0, 1, 2, 3, 4].map((i) =>
      gate.run(async () => {
        started.push(i);
        await new Promise<void>((r) => (finish[i] = r));
        return i * 10;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect(gate.queued).toBe(3);
    finish[1]();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    finish[0]();
    finish[2]();
    await tick();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(gate.queued).toBe(0);
    finish[3]();
    finish[4]();
    expect(await Promise.all(runs)).toEqual([0, 10, 20, 30, 40]);
  });

  it("a failed call gives its turn to the next and its caller gets the error", async () => {
    const gate = admissionGate(1);
    const failing = gate.run(async () => {
      await tick();
      throw new Error("store said no");
    });
    const next = gate.run(async () => "ran");
    await expect(failing).rejects.toThrow("store said no");
    expect(await next).toBe("ran");
  });

  it("a waiter whose caller has gone leaves the line without a turn; the others keep their order", async () => {
    const gate = admissionGate(1);
    let finishFirst!: () => void;
    const first = gate.run(() => new Promise<string>((r) => (finishFirst = () => r("first"))));
    const abort = new AbortController();
    const ran: string[] = [];
    const gone = gate.run(async () => ran.push("gone"), abort.signal);
    const third = gate.run(async () => (ran.push("third"), "third"));
    await tick();
    expect(gate.queued).toBe(2);
    abort.abort(new Error("deadline passed"));
    await expect(gone).rejects.toThrow("deadline passed");
    expect(gate.queued).toBe(1);
    finishFirst();
    expect(await first).toBe("first");
    expect(await third).toBe("third");
    expect(ran).toEqual(["third"]);
    // Already gone before asking: refused at once.
    await expect(gate.run(async () => "never", abort.signal)).rejects.toThrow("deadline passed");
  });
});
