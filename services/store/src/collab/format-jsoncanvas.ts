import { invalid } from "@sker/kit";
import { arr, checkReferences, id, IMPORT_LIMITS, num, obj, oneOf, str, type CanvasDoc, type CanvasNode } from "./model.js";

// JSON Canvas 1.0 (https://jsoncanvas.org/spec/1.0/), the open format Obsidian and others read.
// A node becomes a text node whose markdown is its content, headed by "# title" unless the
// title is simply the content's first line. x/y/width/height are integers in the spec.
// What JSON Canvas has and SKER does not (group, file and link nodes, colors, edge sides and
// ends) is kept in the node's metadata.jsonCanvas and written back on export, so a canvas from
// another tool survives import → export; connection types have no place in the spec (export
// drops them, import makes "related").

const NODE_TYPES = ["text", "file", "link", "group"] as const;
const SIDES = ["top", "right", "bottom", "left"] as const;
const ENDS = ["none", "arrow"] as const;

/** The first non-empty line without its markdown heading marks, cut to a title's length. */
export function titleOf(content: string): string {
  const line = content.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.replace(/^\s*#+\s*/, "").trim().slice(0, 500);
}

function markdownOf(n: CanvasNode): string {
  if (n.title === titleOf(n.content)) return n.content;
  return `# ${n.title}` + (n.content ? `\n\n${n.content}` : "");
}

function fromMarkdown(text: string): { title: string; content: string } {
  const heading = /^# ([^\n]*)\n?\n?/.exec(text);
  if (heading) return { title: heading[1].trim().slice(0, 500) || "Untitled", content: text.slice(heading[0].length) };
  return { title: titleOf(text) || "Untitled", content: text };
}

export function toJsonCanvas(doc: CanvasDoc): Record<string, unknown> {
  return {
    nodes: doc.nodes.map((n) => {
      const extra = (n.metadata.jsonCanvas ?? {}) as Record<string, unknown>;
      const type = NODE_TYPES.includes(extra.type as never) ? (extra.type as string) : "text";
      const base = { id: n.id, type, x: Math.round(n.position.x), y: Math.round(n.position.y), width: Math.round(n.size.width), height: Math.round(n.size.height) };
      const color = typeof extra.color === "string" ? { color: extra.color } : {};
      if (type === "file") return { ...base, file: extra.file ?? n.content, ...(extra.subpath ? { subpath: extra.subpath } : {}), ...color };
      if (type === "link") return { ...base, url: extra.url ?? n.content, ...color };
      if (type === "group") return { ...base, label: n.title, ...color };
      return { ...base, text: markdownOf(n), ...color };
    }),
    edges: doc.connections.map((c) => ({
      id: c.id,
      fromNode: c.sourceNodeId,
      toNode: c.targetNodeId,
      ...(c.label ? { label: c.label } : {}),
    })),
  };
}

export function fromJsonCanvas(raw: unknown, name: string): CanvasDoc {
  const file = obj("document", raw);
  const doc: CanvasDoc = {
    project: { name, description: "", canvasData: {}, settings: {} },
    nodes: arr("nodes", file.nodes, IMPORT_LIMITS.nodes).map((v, i) => node(`nodes[${i}]`, v)),
    connections: arr("edges", file.edges, IMPORT_LIMITS.connections).map((v, i) => {
      const f = `edges[${i}]`;
      const e = obj(f, v);
      // Checked as the spec says, then dropped: sides, ends and colors have no place in a connection.
      for (const k of ["fromSide", "toSide"] as const) if (e[k] !== undefined) oneOf(`${f}.${k}`, e[k], SIDES, "top");
      for (const k of ["fromEnd", "toEnd"] as const) if (e[k] !== undefined) oneOf(`${f}.${k}`, e[k], ENDS, "none");
      return { id: id(`${f}.id`, e.id), sourceNodeId: id(`${f}.fromNode`, e.fromNode), targetNodeId: id(`${f}.toNode`, e.toNode), type: "related", label: str(`${f}.label`, e.label, 200, ""), weight: 1 };
    }),
  };
  checkReferences(doc, "nodes", "edges", ["fromNode", "toNode"]);
  return doc;
}

function node(f: string, v: unknown): CanvasNode {
  const n = obj(f, v);
  const type = oneOf(`${f}.type`, n.type, NODE_TYPES, "text");
  const int = (k: "x" | "y" | "width" | "height") => {
    const x = num(`${f}.${k}`, n[k]);
    if ((k === "width" || k === "height") && x <= 0) throw invalid(`${f}.${k}`, "must be a positive number");
    return x;
  };
  const extra: Record<string, unknown> = { type };
  if (n.color !== undefined) extra.color = str(`${f}.color`, n.color, 20);
  let title: string;
  let content: string;
  if (type === "text") ({ title, content } = fromMarkdown(str(`${f}.text`, n.text, 100_000)));
  else if (type === "file") {
    content = extra.file = str(`${f}.file`, n.file, 2000);
    if (n.subpath !== undefined) extra.subpath = str(`${f}.subpath`, n.subpath, 2000);
    title = content.split("/").pop() || "file";
  } else if (type === "link") {
    content = extra.url = str(`${f}.url`, n.url, 2000);
    title = content.slice(0, 500);
  } else {
    title = str(`${f}.label`, n.label, 500, "Group") || "Group";
    content = "";
  }
  return {
    id: id(`${f}.id`, n.id),
    title,
    content,
    semanticType: "",
    importance: 3,
    confidence: 1,
    status: "idle",
    tags: [],
    position: { x: int("x"), y: int("y") },
    size: { width: int("width"), height: int("height") },
    // A plain text node needs nothing kept; anything else keeps what the spec says about it.
    metadata: type === "text" && extra.color === undefined ? {} : { jsonCanvas: extra },
    parentId: null,
    aiGenerated: false,
  };
}
