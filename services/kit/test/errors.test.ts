import { describe, expect, it } from "vitest";

describe("a dependency that cannot be reached", () => {
  it("is UNAVAILABLE (503), not INTERNAL: pool timeout, refused or dropped connection, PostgreSQL shutting down", async () => {
    const { toServiceError } = await import("../src/errors.js");
    const { status } = await import("@grpc/grpc-js");
    const cases = [
      new Error("timeout exceeded when trying to connect"),
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
      Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
      Object.assign(new Error("connection failure"), { code: "08006" }),
      Object.assign(new Error("sorry, too many clients already"), { code: "53300" }),
    ];
    for (const err of cases) expect(toServiceError(err).code, err.message).toBe(status.UNAVAILABLE);
    expect(toServiceError(new TypeError("x is undefined")).code).toBe(status.INTERNAL);
  });
});

describe("a statement PostgreSQL cancelled", () => {
  it("is DEADLINE_EXCEEDED (504), not INTERNAL, even when it outruns the call's own stop signal", async () => {
    const { toServiceError, fromServiceError } = await import("../src/errors.js");
    const { status } = await import("@grpc/grpc-js");
    const err = Object.assign(new Error("canceling statement due to user request"), { code: "57014" });
    const wire = toServiceError(err);
    expect(wire.code).toBe(status.DEADLINE_EXCEEDED);
    expect(wire.details).not.toContain("canceling statement");
    expect(fromServiceError(wire).code).toBe("DEADLINE_EXCEEDED");
  });
});

describe("the cost of an expected outcome", () => {
  it("a NOT_FOUND, denial or conflict carries no stack frames; an INTERNAL or UNAVAILABLE keeps them, and the limit is restored", async () => {
    const { AppError, notFound, fromServiceError, toServiceError } = await import("../src/errors.js");
    const limit = Error.stackTraceLimit;
    const frames = (e: Error) => (e.stack ?? "").split("\n").filter((l) => l.trim().startsWith("at ")).length;
    for (const e of [notFound("node"), new AppError("FORBIDDEN", "no"), new AppError("VERSION_CONFLICT", "stale", { currentVersion: 3 })]) {
      expect(frames(e), e.code).toBe(0);
      expect(e).toBeInstanceOf(Error);
      expect(e.message.length).toBeGreaterThan(0);
    }
    expect(frames(new AppError("INTERNAL", "bug"))).toBeGreaterThan(0);
    expect(frames(new AppError("UNAVAILABLE", "down"))).toBeGreaterThan(0);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(frames(new Error("plain"))).toBeGreaterThan(0);
    // Across the wire the code and details survive as before.
    const back = fromServiceError(toServiceError(new AppError("VERSION_CONFLICT", "stale", { currentVersion: 3 })));
    expect(back).toMatchObject({ code: "VERSION_CONFLICT", message: "stale", details: { currentVersion: 3 } });
  });
});
