// Malformed request bodies for the fuzz test. Each kind turns a (nearly) valid body into raw
// JSON text that no closed schema may accept (kinds marked anyBody: that no route may accept at
// all), so any 2xx is a hole and any 5xx a crash.

export type Body = Record<string, unknown>;
export interface Kind {
  name: string;
  /** Invalid for any body, open schemas (a whole document, e.g. an import) included. */
  anyBody?: boolean;
  make: (body: Body, open: boolean) => string;
}

/** A small seeded PRNG (mulberry32) so a failure can be replayed with FUZZ_SEED. */
export function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Something shaped like the schema: each property a plausible value of its type. */
export function sampleBody(schema: any, uuid: string): Body {
  const one = (s: any): unknown => {
    const type = Array.isArray(s?.type) ? s.type[0] : s?.type;
    if (s?.enum) return s.enum[0];
    if (type === "string") return s.format === "uuid" || s.pattern?.includes("[0-9a-fA-F]{8}") ? uuid : s.format === "email" ? "f@example.com" : "x".repeat(Math.max(1, s.minLength ?? 1));
    if (type === "integer" || type === "number") return s.minimum ?? 1;
    if (type === "boolean") return true;
    if (type === "array") return [];
    if (type === "object") return sampleBody(s, uuid);
    return "x";
  };
  return Object.fromEntries(Object.entries<any>(schema?.properties ?? {}).map(([k, s]) => [k, one(s)]));
}

const DEEP_MARK = '"__deep__"';

export function mutations(rand: () => number): Kind[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const unknownKey = () => `unknown_${Math.floor(rand() * 1e6)}`;
  const stringKeys = (b: Body) => Object.keys(b).filter((k) => typeof b[k] === "string");
  /** A random existing string field, or a new unknown one. */
  const stringSlot = (b: Body) => pick([...stringKeys(b), unknownKey()]);

  const randomJson = (depth = 0): unknown => {
    const r = rand();
    if (depth > 3 || r < 0.45) return pick([0, -1, 1.5, 1e308, "", "s", "ü🦉", true, false, null]);
    if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => randomJson(depth + 1));
    return Object.fromEntries(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => [`k${Math.floor(rand() * 1e4)}`, randomJson(depth + 1)]));
  };
  const wrongFor = (v: unknown): unknown => {
    if (typeof v === "string") return pick([1, true, {}, [], 3.5, ["s"]]);
    if (typeof v === "number") return pick(["1", true, {}, [], "NaN"]);
    if (Array.isArray(v)) return pick(["a", 1, {}, [1, 2], [{}]]);
    if (typeof v === "object" && v !== null) return pick(["x", 1, [], true]);
    return pick(["x", 1, {}]);
  };
  const deepRaw = (depth: number) => (rand() < 0.5 ? '{"d":'.repeat(depth) + "1" + "}".repeat(depth) : "[".repeat(depth) + "]".repeat(depth));

  return [
    { name: "unknown field", make: (b) => JSON.stringify({ ...b, [unknownKey()]: randomJson() }) },
    { name: "wrong types", make: (b) => JSON.stringify({ ...Object.fromEntries(Object.keys(b).map((k) => [k, wrongFor(b[k])])), [unknownKey()]: 1 }) },
    { name: "one wrong type", make: (b) => { const k = pick([...Object.keys(b), unknownKey()]); return JSON.stringify({ ...b, [k]: k in b ? wrongFor(b[k]) : 1, [unknownKey()]: null }); } },
    { name: "NUL", anyBody: true, make: (b) => (rand() < 0.7 ? JSON.stringify({ ...b, [stringSlot(b)]: pick(["\u0000", "a\u0000", "a\u0000b@x.io"]) }) : JSON.stringify({ ...b, [`k\u0000${unknownKey()}`]: 1 })) },
    { name: "lone surrogate", anyBody: true, make: (b) => (rand() < 0.7 ? JSON.stringify({ ...b, [stringSlot(b)]: pick(["\ud800", "a\udfff", "\udc00\ud800"]) }) : JSON.stringify({ ...b, [`\ud83e${unknownKey()}`]: 1 })) },
    { name: "NUL in free JSON", anyBody: true, make: (b) => JSON.stringify({ ...b, [pick(["metadata", "canvasData", "settings", unknownKey()])]: { notes: [{ text: "x\u0000" }] } }) },
    {
      name: "deep nesting",
      anyBody: true,
      make: (b, open) => {
        // Free JSON fields stop at 16 levels, any body at 64 (the gateway's input guard).
        const depth = pick(open ? [101, 2_000, 60_000] : [17, 33, 101, 2_000, 60_000]);
        if (rand() < 0.15) return deepRaw(depth);
        const key = pick([...Object.keys(b).filter((k) => typeof b[k] === "object"), "metadata", "canvasData", "settings", unknownKey()]);
        return JSON.stringify({ ...b, [key]: "__deep__" }).replace(DEEP_MARK, deepRaw(depth));
      },
    },
    {
      name: "huge string",
      make: (b) => {
        const huge = rand() < 0.8 ? "x".repeat(600_000) : "€".repeat(400_000);
        return rand() < 0.7 ? JSON.stringify({ ...b, [stringSlot(b)]: huge }) : JSON.stringify({ ...b, [pick(["metadata", "canvasData", "settings"])]: { big: huge } });
      },
    },
    {
      name: "prototype keys",
      anyBody: true,
      make: (b) => {
        const poison = pick(['"__proto__":{"isAdmin":true}', '"constructor":{"prototype":{"isAdmin":true}}']);
        const inner = JSON.stringify(b).slice(1, -1);
        const where = rand();
        if (where < 0.4) return `{${poison}${inner ? "," + inner : ""}}`;
        const host = pick(["metadata", "canvasData", "settings", "options", unknownKey()]);
        if (where < 0.8) return `{${inner ? inner + "," : ""}"${host}":{${poison}}}`;
        return `{${inner ? inner + "," : ""}"${host}":[1,{"a":{${poison}}}]}`;
      },
    },
    {
      name: "random JSON",
      make: () => {
        // null is the one random value a route may take (an optional body); it is wrapped.
        const v = rand() < 0.5 ? { [unknownKey()]: randomJson() } : randomJson(1);
        return JSON.stringify(v === null ? [v] : v);
      },
    },
    { name: "not an object", anyBody: true, make: () => JSON.stringify(pick([[], [{}], 1, "s", true, [randomJson()]])) },
    {
      name: "non-finite numbers",
      make: (b) => {
        const k = pick([...Object.keys(b).filter((x) => typeof b[x] === "number"), unknownKey()]);
        return JSON.stringify({ ...b, [k]: 7777, [unknownKey()]: 1 }).replace("7777", pick(["1e999", "-1e999", "1e400", "123456789012345678901234567890"]));
      },
    },
    {
      name: "broken JSON",
      anyBody: true,
      make: (b) => {
        const s = JSON.stringify(b);
        if (rand() < 0.5 && s.length > 2) return s.slice(0, 1 + Math.floor(rand() * (s.length - 2)));
        return pick(["", "{", "}", "{{}}", "{'a':1}", '{"a":}', '{"a":1}{"b":2}', "[1,]", "NaN", "\u0000", "\ufeff{", "[]", "42", '"str"', "true", "[{}]"]);
      },
    },
  ];
}
