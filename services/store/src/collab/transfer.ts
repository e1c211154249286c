import { invalid, type CallContext } from "@sker/kit";
import type {
  DuplicateProjectRequest,
  DuplicateProjectResponse,
  ExportProjectRequest,
  ExportProjectResponse,
  ImportProjectRequest,
  ImportProjectResponse,
} from "@sker/contracts/store/v1/collab";
import { requireRole, userOf } from "../authz.js";
import { liveConnectionsOfProject } from "../connections/repo.js";
import type { StoreDeps } from "../deps.js";
import { liveNodesOfProject } from "../nodes/repo.js";
import { projectToProto } from "../projects/map.js";
import { parseId } from "../input/ids.js";
import { fromJsonCanvas, toJsonCanvas } from "./format-jsoncanvas.js";
import { fromSker, toSker } from "./format-sker.js";
import { str, type CanvasDoc } from "./model.js";
import { writeCanvas } from "./write.js";
import { quotaExceeded, reserveProject } from "../quotas/enforce.js";
import { projectUsage } from "../quotas/repo.js";

const FORMATS = ["jsoncanvas", "sker"] as const;
type Format = (typeof FORMATS)[number];

function format(raw: string): Format {
  if (!FORMATS.includes(raw as Format)) throw invalid("format", `must be one of ${FORMATS.join(", ")}`);
  return raw as Format;
}

/** The live canvas of a project, read in one snapshot (a connection never lacks its nodes). */
async function readCanvas(deps: StoreDeps, projectId: string, withVersions: boolean): Promise<CanvasDoc> {
  return deps.db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute(async (trx) => {
      const project = await trx.selectFrom("projects").selectAll().where("id", "=", projectId).executeTakeFirstOrThrow();
      const nodes = await liveNodesOfProject(trx, projectId);
      const connections = await liveConnectionsOfProject(trx, projectId);
      const versions = withVersions && nodes.length
        ? await trx.selectFrom("node_versions").selectAll().where("node_id", "in", nodes.map((n) => n.id)).orderBy("node_id").orderBy("version").execute()
        : [];
      const live = new Set(nodes.map((n) => n.id));
      return {
        project: { name: project.name, description: project.description, canvasData: project.canvas_data, settings: project.settings },
        nodes: nodes.map((n) => ({
          id: n.id,
          title: n.title,
          content: n.content,
          semanticType: n.semantic_type,
          importance: n.importance,
          confidence: n.confidence,
          status: n.status,
          tags: n.tags,
          position: { x: n.position_x, y: n.position_y },
          size: { width: n.width, height: n.height },
          metadata: n.metadata,
          // A parent that is hidden is not in the file: the child exports without one.
          parentId: n.parent_id && live.has(n.parent_id) ? n.parent_id : null,
          aiGenerated: n.ai_generated,
          ...(withVersions
            ? {
                version: n.version,
                versions: versions
                  .filter((v) => v.node_id === n.id)
                  .map((v) => ({ version: v.version, title: v.title, content: v.content, changeType: v.change_type, createdAt: v.created_at.toISOString() })),
              }
            : {}),
        })),
        connections: connections.map((c) => ({ id: c.id, sourceNodeId: c.source_node_id, targetNodeId: c.target_node_id, type: c.type, label: c.label, weight: c.weight })),
      };
    });
}

export async function exportProject(deps: StoreDeps, req: ExportProjectRequest, ctx: CallContext): Promise<ExportProjectResponse> {
  const projectId = parseId("projectId", req.projectId);
  const fmt = format(req.format);
  await requireRole(deps, ctx, projectId, "viewer");
  const doc = await readCanvas(deps, projectId, fmt === "sker" && req.includeVersions);
  return { document: JSON.stringify(fmt === "sker" ? toSker(doc, new Date()) : toJsonCanvas(doc)) };
}

async function create(deps: StoreDeps, doc: CanvasDoc, ctx: CallContext) {
  const userId = userOf(ctx.caller);
  const { quotas } = deps.config;
  // One transaction: a file that fails anywhere (a quota, a constraint the checks missed) leaves nothing.
  const row = await deps.db.transaction().execute(async (trx) => {
    await reserveProject(trx, userId, quotas);
    const project = await writeCanvas(trx, doc, userId);
    const used = await projectUsage(trx, project.id);
    if (used.nodes > quotas.nodesPerProject) throw quotaExceeded("nodesPerProject", quotas.nodesPerProject, 0, used.nodes);
    if (used.bytes > quotas.bytesPerProject) throw quotaExceeded("bytesPerProject", quotas.bytesPerProject, 0, used.bytes);
    return project;
  });
  return { project: projectToProto(row, "owner") };
}

export async function importProject(deps: StoreDeps, req: ImportProjectRequest, ctx: CallContext): Promise<ImportProjectResponse> {
  userOf(ctx.caller);
  const fmt = format(req.format);
  let raw: unknown;
  try {
    raw = JSON.parse(req.document);
  } catch {
    throw invalid("document", "is not JSON");
  }
  const name = req.name ? str("name", req.name.trim(), 200) : "";
  if (req.name && !name) throw invalid("name", "must not be empty");
  const doc = fmt === "sker" ? fromSker(raw) : fromJsonCanvas(raw, name || "Imported canvas");
  if (name) doc.project.name = name;
  return create(deps, doc, ctx);
}

export async function duplicateProject(deps: StoreDeps, req: DuplicateProjectRequest, ctx: CallContext): Promise<DuplicateProjectResponse> {
  const projectId = parseId("projectId", req.projectId);
  await requireRole(deps, ctx, projectId, "viewer");
  const doc = await readCanvas(deps, projectId, false);
  const name = req.name ? str("name", req.name.trim(), 200) : `${doc.project.name} (copy)`.slice(0, 200);
  if (!name) throw invalid("name", "must not be empty");
  doc.project.name = name;
  return create(deps, doc, ctx);
}
