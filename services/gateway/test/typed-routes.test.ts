// The types of a route's request come from the schema that checks it (the TypeBox type
// provider), so a schema change reaches the handler's types. A hand-written route generic or a
// cast of the request would type something the validator never checked.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const src = join(import.meta.dirname, "../src");
const files = (dir: string): string[] =>
  readdirSync(join(src, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
const all = files(".").map((f) => ({ file: f, text: readFileSync(join(src, f), "utf8") }));

describe("typed routes", () => {
  it("no route declares its request types by hand, and no code casts a request part", () => {
    const found = all.flatMap(({ file, text }) =>
      [...text.matchAll(/\b(?:app|api)\.(?:get|post|put|patch|delete|route)<|\breq(?:uest)?\.(?:body|query|params|headers)\)?\s+as\s/g)].map((m) => `${file}: ${m[0]}`),
    );
    expect(found).toEqual([]);
  });

  it("every route plugin whose schemas check a request part is typed by the TypeBox provider", () => {
    const untyped = all
      .filter(({ file }) => file.startsWith("routes/"))
      .filter(({ text }) => /\bapp\.(?:get|post|put|patch|delete)\(/.test(text) && /\b(?:body|querystring|params|headers):\s/.test(text) && !/: FastifyPluginAsyncTypebox\b/.test(text))
      .map(({ file }) => file);
    expect(untyped).toEqual([]);
  });
});
