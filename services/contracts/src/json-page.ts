import { NodeServiceService, type ListNodesJsonResponse } from "./gen/sker/store/v1/node.js";

// ListNodesJsonResponse carries up to a megabyte of JSON that nobody between PostgreSQL and the
// socket reads. The generated codec copies it three times on the way (into the writer, out of
// it, into a Buffer) and once more on receipt; on a 2-core VM where a fresh megabyte costs more
// than the copy into it, that was a good part of what a 5,000-node canvas cost. This codec
// writes the same protobuf bytes once and, on receipt, answers `json` as a view of the message
// (no copy). Wire-compatible with the generated one both ways (contracts test json-page).

const Wire = { Varint: 0, Fixed64: 1, Len: 2, Fixed32: 5 } as const;

const varintSize = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[at++] = n;
  return at;
}

export function encodeNodesJsonPage(m: ListNodesJsonResponse): Buffer {
  const ids = m.ids.map((id) => Buffer.byteLength(id));
  const cursor = Buffer.byteLength(m.nextCursor);
  const json = m.json.length;
  let size = json ? 1 + varintSize(json) + json : 0;
  for (const n of ids) size += 1 + varintSize(n) + n;
  if (cursor) size += 1 + varintSize(cursor) + cursor;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  if (json) {
    out[at++] = (1 << 3) | Wire.Len;
    at = writeVarint(out, at, json);
    at += m.json.copy(out, at);
  }
  m.ids.forEach((id, i) => {
    out[at++] = (2 << 3) | Wire.Len;
    at = writeVarint(out, at, ids[i]);
    at += out.write(id, at);
  });
  if (cursor) {
    out[at++] = (3 << 3) | Wire.Len;
    at = writeVarint(out, at, cursor);
    out.write(m.nextCursor, at);
  }
  return out;
}

export function decodeNodesJsonPage(buf: Buffer): ListNodesJsonResponse {
  const m: ListNodesJsonResponse = { json: Buffer.alloc(0), ids: [], nextCursor: "" };
  let at = 0;
  const varint = () => {
    let n = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (at >= buf.length) throw new RangeError("truncated varint");
      const b = buf[at++];
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
    // A 64-bit varint (an unknown field's): skip its remaining bytes.
    while (at < buf.length && buf[at++] >= 0x80);
    return n;
  };
  while (at < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === Wire.Len) {
      const len = varint();
      const end = at + len;
      if (end > buf.length) throw new RangeError("truncated field");
      if (field === 1) m.json = buf.subarray(at, end);
      else if (field === 2) m.ids.push(buf.toString("utf8", at, end));
      else if (field === 3) m.nextCursor = buf.toString("utf8", at, end);
      at = end;
    } else if (wire === Wire.Varint) varint();
    else if (wire === Wire.Fixed64) at += 8;
    else if (wire === Wire.Fixed32) at += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
  }
  return m;
}

/** NodeService with this codec for ListNodesJson's answer; every other RPC as generated. */
export const NodeServiceWithJsonPages = {
  ...NodeServiceService,
  listNodesJson: { ...NodeServiceService.listNodesJson, responseSerialize: encodeNodesJsonPage, responseDeserialize: decodeNodesJsonPage },
} as const satisfies typeof NodeServiceService;
