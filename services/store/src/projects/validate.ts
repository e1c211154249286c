import { invalid } from "@sker/kit";
import type { CreateProjectRequest, UpdateProjectRequest } from "@sker/contracts/store/v1/project";
import { parseEnum } from "../shared/enum.js";
import { PROJECT_STATUS } from "./map.js";
import { checkAiSettings } from "../usage/settings.js";

const LIMITS = { name: 200, description: 5_000, jsonBytes: 1024 * 1024 };

function name(raw: string): string {
  const v = raw.trim();
  if (!v) throw invalid("name", "must not be empty");
  if (v.length > LIMITS.name) throw invalid("name", `must be at most ${LIMITS.name} characters`);
  return v;
}

function description(raw: string): string {
  if (raw.length > LIMITS.description) throw invalid("description", `must be at most ${LIMITS.description} characters`);
  return raw;
}

function json(field: string, value: Record<string, unknown>): string {
  const s = JSON.stringify(value);
  if (Buffer.byteLength(s) > LIMITS.jsonBytes) throw invalid(field, `must be at most ${LIMITS.jsonBytes} bytes as JSON`);
  return s;
}

function checked(settings: Record<string, unknown>): Record<string, unknown> {
  checkAiSettings(settings);
  return settings;
}

export function checkCreate(req: CreateProjectRequest) {
  return {
    name: name(req.name ?? ""),
    description: description(req.description ?? ""),
    canvas_data: json("canvasData", req.canvasData ?? {}),
    settings: json("settings", checked(req.settings ?? {})),
  };
}

export function checkUpdate(req: UpdateProjectRequest) {
  const patch: { name?: string; description?: string; status?: "active" | "archived"; canvas_data?: string; settings?: string } = {};
  if (req.name !== undefined) patch.name = name(req.name);
  if (req.description !== undefined) patch.description = description(req.description);
  const status = parseEnum<"active" | "archived">("status", req.status, PROJECT_STATUS);
  if (status) patch.status = status;
  if (req.canvasData !== undefined) patch.canvas_data = json("canvasData", req.canvasData);
  if (req.settings !== undefined) patch.settings = json("settings", checked(req.settings));
  return patch;
}
