import { describe, expect, it } from "vitest";
import { findBadText, findTooDeep, jsonDepth, jsonProblem } from "../src/input.js";

describe("input checks", () => {
  it("finds NUL and lone surrogates in values and keys anywhere, naming the path", () => {
    expect(findBadText({ a: [{ b: "x\u0000" }] })).toMatchObject({ field: "a[0].b" });
    expect(findBadText({ meta: { "\ud800": 1 } })).toMatchObject({ field: "meta" });
    expect(findBadText({ "odd key": ["\udc00"] })).toMatchObject({ field: '["odd key"][0]' });
    expect(findBadText("\u0000")).toMatchObject({ field: "body" });
    expect(findBadText({ ok: "🦉 pairs are fine", n: 1, b: Buffer.from([0]), at: new Date(0) })).toBeUndefined();
  });

  it("walks and measures 100,000 levels of nesting without overflowing the stack", () => {
    let deep: unknown = "\u0000";
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(jsonDepth(deep)).toBe(100_000);
    expect(findBadText(deep)?.message).toMatch(/NUL/);
    expect(jsonProblem({ a: deep }, { depth: 16, bytes: 1e9 })).toMatch(/16 levels/);
    expect(findTooDeep({ ok: [[1]], a: deep }, 64)).toEqual({ field: "a", message: "is nested deeper than 64 levels" });
    expect(findTooDeep({ ok: [[1]] }, 3)).toBeUndefined();
  });

  it("counts depth from the value's own object and bytes of its UTF-8 JSON", () => {
    expect([jsonDepth(1), jsonDepth({}), jsonDepth({ a: { b: [1] } })]).toEqual([0, 1, 3]);
    expect(jsonProblem({ s: "é" }, { depth: 1, bytes: 10 })).toBeUndefined(); // {"s":"é"} is 10 bytes
    expect(jsonProblem({ s: "éé" }, { depth: 1, bytes: 10 })).toMatch(/at most 10 bytes/);
  });
});
