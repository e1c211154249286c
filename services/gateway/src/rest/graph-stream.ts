import { Readable } from "node:stream";
import type { CallOptions } from "@sker/kit";
import { NodeStatus } from "@sker/contracts/store/v1/node";
import type { Clients } from "../clients.js";
import * as map from "./map.js";

const PAGE = 500;

/**
 * GET /projects/:id/graph as a streamed JSON body: node pages (cut by bytes in the store)
 * then connection pages, each written as it arrives and read only as fast as the client
 * reads, so a 50 MB canvas never sits whole in the gateway or in one gRPC message. The first
 * page is read before anything is sent, so a stranger still gets a plain 404. Pages are not
 * one snapshot: a connection whose node was not in the answer (deleted between two pages) is
 * left out.
 */
export async function graphStream(clients: Clients, projectId: string, opts: CallOptions): Promise<Readable> {
  const nodePage = (cursor: string) => ahead(clients.nodes.listNodes({ projectId, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tag: "", q: "", page: { limit: PAGE, cursor } }, opts));
  const connectionPage = (cursor: string) => ahead(clients.connections.listConnections({ projectId, nodeId: "", page: { limit: PAGE, cursor } }, opts));
  const first = await nodePage("");
  async function* body() {
    const seen = new Set<string>();
    let page = first;
    let sep = "";
    yield '{"success":true,"data":{"nodes":[';
    // The next page is asked for before this one is encoded and written, so the store reads
    // while the gateway encodes; one page ahead at most, so memory stays one page deep.
    let next: Promise<typeof first> | undefined;
    let connections = undefined as ReturnType<typeof connectionPage> | undefined;
    for (;;) {
      if (page.nextCursor) next = nodePage(page.nextCursor);
      else connections = connectionPage("");
      // One chunk per page, not per node: each chunk is a socket write (a syscall), and a canvas
      // of 5,000 nodes would otherwise cost 5,000 of them.
      const parts: string[] = [];
      for (const n of page.nodes) {
        seen.add(n.id);
        parts.push(JSON.stringify(map.node(n)));
      }
      if (parts.length) {
        yield sep + parts.join(",");
        sep = ",";
      }
      if (!next) break;
      page = await next;
      next = undefined;
    }
    yield '],"connections":[';
    sep = "";
    while (connections) {
      const res = await connections;
      connections = res.nextCursor ? connectionPage(res.nextCursor) : undefined;
      const parts: string[] = [];
      for (const c of res.connections) {
        if (seen.has(c.sourceNodeId) && seen.has(c.targetNodeId)) parts.push(JSON.stringify(map.connection(c)));
      }
      if (parts.length) {
        yield sep + parts.join(",");
        sep = ",";
      }
    }
    yield "]}}";
  }
  return Readable.from(body());
}

/**
 * A page asked for ahead of its use: its failure is handled where it is awaited, and must not
 * count as unhandled meanwhile (nor when the client left before it was needed).
 */
function ahead<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
