import { randomUUID } from "node:crypto";
import { sql, type Insertable, type Transaction } from "kysely";
import type { Database, NodeVersionsTable, ProjectRow } from "../db/schema.js";
import { nowMs } from "../db/sql.js";
import type { CanvasDoc } from "./model.js";

const CHUNK = 500;

function chunks<T>(xs: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
}

/**
 * Rows made in one transaction share created_at, and lists order by (created_at, id): ids
 * handed out in ascending order keep the file's order (in JSON Canvas, the z-order).
 */
function orderedIds(n: number): string[] {
  return Array.from({ length: n }, () => randomUUID() as string).sort();
}

/**
 * A new project holding the canvas, in the caller's transaction: the caller becomes its owner,
 * every node and connection gets a new id. No events, as for a created project: nobody can be
 * subscribed to it yet. Rows go in bulk (500 a statement), parents set once every node exists.
 */
export async function writeCanvas(trx: Transaction<Database>, doc: CanvasDoc, ownerId: string): Promise<ProjectRow> {
  const p = doc.project;
  const project = await trx
    .insertInto("projects")
    .values({ name: p.name, description: p.description, canvas_data: JSON.stringify(p.canvasData), settings: JSON.stringify(p.settings), owner_id: ownerId })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx.insertInto("project_members").values({ project_id: project.id, user_id: ownerId, role: "owner" }).execute();
  const nodeIds = orderedIds(doc.nodes.length);
  const ids = new Map(doc.nodes.map((n, i) => [n.id, nodeIds[i]]));
  const connectionIds = orderedIds(doc.connections.length);
  for (const part of chunks(doc.nodes)) {
    await trx
      .insertInto("nodes")
      .values(
        part.map((n) => ({
          id: ids.get(n.id)!,
          project_id: project.id,
          title: n.title,
          content: n.content,
          semantic_type: n.semanticType,
          importance: n.importance,
          confidence: n.confidence,
          status: n.status,
          tags: n.tags,
          position_x: n.position.x,
          position_y: n.position.y,
          width: n.size.width,
          height: n.size.height,
          metadata: JSON.stringify(n.metadata),
          version: n.version ?? 1,
          ai_generated: n.aiGenerated,
          created_by: ownerId,
          created_at: nowMs,
          updated_at: nowMs,
        })),
      )
      .execute();
    const versions: Insertable<NodeVersionsTable>[] = part.flatMap((n): Insertable<NodeVersionsTable>[] =>
      n.versions?.length
        ? n.versions.map((v) => ({ node_id: ids.get(n.id)!, version: v.version, title: v.title, content: v.content, change_type: v.changeType, created_by: null, created_at: v.createdAt }))
        : [{ node_id: ids.get(n.id)!, version: n.version ?? 1, title: n.title, content: n.content, change_type: "create", created_by: ownerId, created_at: new Date() }],
    );
    for (const v of chunks(versions)) await trx.insertInto("node_versions").values(v).execute();
  }
  const parented = doc.nodes.filter((n) => n.parentId !== null);
  for (const part of chunks(parented)) {
    const child = part.map((n) => ids.get(n.id)!);
    const parent = part.map((n) => ids.get(n.parentId!)!);
    await sql`UPDATE nodes SET parent_id = v.parent FROM unnest(${child}::uuid[], ${parent}::uuid[]) AS v(child, parent) WHERE nodes.id = v.child`.execute(trx);
  }
  for (const [k, part] of chunks(doc.connections).entries()) {
    await trx
      .insertInto("connections")
      .values(
        part.map((c, i) => ({
          id: connectionIds[k * CHUNK + i],
          project_id: project.id,
          source_node_id: ids.get(c.sourceNodeId)!,
          target_node_id: ids.get(c.targetNodeId)!,
          type: c.type,
          label: c.label,
          weight: c.weight,
          created_by: ownerId,
          created_at: nowMs,
          updated_at: nowMs,
        })),
      )
      .execute();
  }
  return project;
}
