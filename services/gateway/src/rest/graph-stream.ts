import { Readable } from "node:stream";
import type { CallOptions } from "@sker/kit";
import { NodeStatus } from "@sker/contracts/store/v1/node";
import type { Clients } from "../clients.js";

const PAGE = 500;

const OPEN = Buffer.from('{"success":true,"data":{"nodes":[');
const BETWEEN = Buffer.from('],"connections":[');
const CLOSE = Buffer.from("]}}");
const COMMA = Buffer.from(",");

/**
 * GET /projects/:id/graph as a streamed JSON body: node pages (cut by bytes in the store)
 * then connection pages, each written as it arrives and read only as fast as the client
 * reads, so a 50 MB canvas never sits whole in the gateway or in one gRPC message. The first
 * page is read before anything is sent, so a stranger still gets a plain 404. Pages are not
 * one snapshot: a connection whose node was not in the answer (deleted between two pages) is
 * left out.
 *
 * The JSON of each node and connection is made by PostgreSQL (ListNodesJson,
 * ListConnectionsJson: the REST shape of rest/map.ts, held equal by a test) and passed on as
 * bytes: nothing is parsed, built or stringified here.
 */
export async function graphStream(clients: Clients, projectId: string, opts: CallOptions): Promise<Readable> {
  const nodePage = (cursor: string) =>
    ahead(clients.nodes.listNodesJson({ projectId, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tag: "", q: "", page: { limit: PAGE, cursor } }, opts));
  const connectionPage = (cursor: string) => ahead(clients.connections.listConnectionsJson({ projectId, nodeId: "", page: { limit: PAGE, cursor } }, opts));
  const first = await nodePage("");
  async function* body() {
    const seen = new Set<string>();
    let page = first;
    let sep = false;
    yield OPEN;
    // The next page is asked for before this one is written, so the store reads while the
    // gateway writes; one page ahead at most, so memory stays one page deep.
    let next: Promise<typeof first> | undefined;
    let connections = undefined as ReturnType<typeof connectionPage> | undefined;
    for (;;) {
      if (page.nextCursor) next = nodePage(page.nextCursor);
      else connections = connectionPage("");
      for (const id of page.ids) seen.add(id);
      // One chunk per page, not per node: each chunk is a socket write (a syscall).
      if (page.json.length) {
        // Two chunks rather than one copy of the page: the stream writes them together.
        if (sep) yield COMMA;
        yield page.json;
        sep = true;
      }
      if (!next) break;
      page = await next;
      next = undefined;
    }
    yield BETWEEN;
    sep = false;
    while (connections) {
      const res = await connections;
      connections = res.nextCursor ? connectionPage(res.nextCursor) : undefined;
      const parts: Buffer[] = [];
      for (const c of res.connections) {
        if (!seen.has(c.sourceNodeId) || !seen.has(c.targetNodeId)) continue;
        if (sep || parts.length) parts.push(COMMA);
        parts.push(c.json);
      }
      if (parts.length) {
        yield Buffer.concat(parts);
        sep = true;
      }
    }
    yield CLOSE;
  }
  return Readable.from(body(), { objectMode: false });
}

/**
 * A page asked for ahead of its use: its failure is handled where it is awaited, and must not
 * count as unhandled meanwhile (nor when the client left before it was needed).
 */
function ahead<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
