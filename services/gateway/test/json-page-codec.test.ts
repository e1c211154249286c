import { describe, expect, it } from "vitest";
import { ListNodesJsonResponse } from "@sker/contracts/store/v1/node";
import { decodeNodesJsonPage, encodeNodesJsonPage, NodeServiceWithJsonPages } from "@sker/contracts/json-page";

// The hand-written codec of ListNodesJsonResponse (contracts/src/json-page.ts), which the store
// answers with and the gateway reads with, speaks the generated codec's wire both ways, and the
// gateway's copy of a page is a view of the message it received.

const generated = {
  encode: (m: ListNodesJsonResponse) => Buffer.from(ListNodesJsonResponse.encode(m).finish()),
  decode: (b: Buffer) => ListNodesJsonResponse.decode(b),
};

const pages: ListNodesJsonResponse[] = [
  { json: Buffer.alloc(0), ids: [], nextCursor: "" },
  { json: Buffer.from('{"id":"a"}'), ids: ["a"], nextCursor: "" },
  { json: Buffer.from(JSON.stringify({ t: 'é中😀\n"'.repeat(40) })), ids: ["ü", "9d7e0c56-0a5e-4b8e-9d7a-7c1f7f3f2b10", ""], nextCursor: "WyIyMDI2LTAxLTAxVDAwOjAwOjAwLjAwMFoiLCJ4Il0" },
  // Lengths of 1, 2, 3 and 4 varint bytes.
  ...[127, 128, 16_383, 16_384, 2_097_151, 2_097_152].map((n) => ({ json: Buffer.alloc(n, 0x61), ids: ["x".repeat(n % 300)], nextCursor: "c".repeat(n % 200) })),
];

/** Equal messages (Buffers compared as bytes: a deep compare of megabytes takes seconds). */
const same = (a: ListNodesJsonResponse, b: ListNodesJsonResponse) => {
  expect(Buffer.from(a.json).equals(Buffer.from(b.json))).toBe(true);
  expect({ ...a, json: null }).toEqual({ ...b, json: null });
};

describe("ListNodesJsonResponse codec", () => {
  it("writes the bytes the generated codec writes, and each reads what the other wrote", () => {
    for (const m of pages) {
      const mine = encodeNodesJsonPage(m);
      expect(mine.equals(generated.encode(m))).toBe(true);
      same(generated.decode(mine), m);
      same(decodeNodesJsonPage(generated.encode(m)), m);
    }
    expect(NodeServiceWithJsonPages.listNodesJson.responseSerialize(pages[2]).equals(generated.encode(pages[2]))).toBe(true);
    expect(NodeServiceWithJsonPages.listNodes).toBeDefined();
  });

  it("answers the page as a view of the received message, not a copy", () => {
    const wire = generated.encode(pages[4]);
    const page = decodeNodesJsonPage(wire);
    expect(page.json.buffer).toBe(wire.buffer);
    expect(page.json.equals(pages[4].json)).toBe(true);
  });

  it("skips fields it does not know (a newer store), of every wire type", () => {
    const m = pages[2];
    const unknown = Buffer.from([
      (9 << 3) | 0, 0xac, 0x02, // varint 300
      (10 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8, // fixed64
      (11 << 3) | 5, 1, 2, 3, 4, // fixed32
      (12 << 3) | 2, 3, 0x61, 0x62, 0x63, // bytes "abc"
      (13 << 3) | 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // a 64-bit varint
    ]);
    same(decodeNodesJsonPage(Buffer.concat([unknown, generated.encode(m), unknown])), m);
  });

  it("refuses a truncated message rather than answering part of a page", () => {
    const wire = generated.encode(pages[2]);
    expect(() => decodeNodesJsonPage(wire.subarray(0, wire.length - 5))).toThrow(RangeError);
    expect(() => decodeNodesJsonPage(Buffer.from([(1 << 3) | 2, 0x80]))).toThrow(RangeError);
    expect(() => decodeNodesJsonPage(Buffer.from([(1 << 3) | 3]))).toThrow(RangeError);
  });
});
