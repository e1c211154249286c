// Input that PostgreSQL or protobuf cannot hold, caught before it gets there: text with NUL
// (text and jsonb refuse \u0000) or lone surrogates (not UTF-8, so not storable or sendable
// intact), and free JSON nested deeper or larger than the contract allows (protobuf Struct
// decoding gives up around 33 levels, and an event carries its resource a level or two deeper).

export interface InputProblem {
  field: string;
  message: string;
}

// String#isWellFormed is in Node 20's V8; the ES2022 lib this build compiles against predates it.
type WellFormed = { isWellFormed(): boolean };

/** Why this text cannot be stored, or undefined when it can. */
export function textProblem(s: string): string | undefined {
  if (s.includes("\u0000")) return "must not contain the NUL character (\\u0000)";
  if (!(s as unknown as WellFormed).isWellFormed()) return "must not contain a lone UTF-16 surrogate (invalid Unicode)";
  return undefined;
}

const join = (path: string, key: string | number) =>
  typeof key === "number" ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;

/**
 * The first string (value or object key) anywhere in `value` that cannot be stored, with its
 * path ("metadata.notes[2]"). Iterative, so no nesting depth can overflow the stack; binary
 * fields (Uint8Array) and dates are not text and are skipped.
 */
export function findBadText(value: unknown, root = ""): InputProblem | undefined {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      const problem = textProblem(v);
      if (problem) return { field: path || "body", message: problem };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], join(path, i)]);
    } else if (v !== null && typeof v === "object" && !ArrayBuffer.isView(v) && !(v instanceof Date)) {
      for (const [k, child] of Object.entries(v)) {
        const keyProblem = textProblem(k);
        if (keyProblem) return { field: path || "body", message: `keys ${keyProblem}` };
        stack.push([child, join(path, k)]);
      }
    }
  }
  return undefined;
}

/**
 * The first place where `value` nests deeper than `max` levels (objects and arrays), named by
 * its top-level field; undefined when it does not. Iterative, like everything here.
 */
export function findTooDeep(value: unknown, max: number): InputProblem | undefined {
  const stack: [unknown, number, string][] = [[value, 0, ""]];
  while (stack.length) {
    const [v, d, top] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d + 1 > max) return { field: top || "body", message: `is nested deeper than ${max} levels` };
    for (const [k, child] of Object.entries(v)) if (child !== null && typeof child === "object") stack.push([child, d + 1, top || (Array.isArray(v) ? `[${k}]` : k)]);
  }
  return undefined;
}

/** Levels of object/array nesting: 1 for `{}` or `[1]`, 2 for `{"a":{}}`, 0 for a scalar. Iterative. */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === "object") stack.push([child, depth]);
  }
  return max;
}

/** Free JSON within its depth and byte limits (bytes of its UTF-8 JSON text), or why not. */
export function jsonProblem(value: unknown, limits: { depth: number; bytes: number }): string | undefined {
  if (jsonDepth(value) > limits.depth) return `must be nested at most ${limits.depth} levels deep`;
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? "");
  if (bytes > limits.bytes) return `must be at most ${limits.bytes} bytes as JSON (got ${bytes})`;
  return undefined;
}
