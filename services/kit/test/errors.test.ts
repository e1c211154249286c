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
