import { invalid, jsonProblem } from "@sker/kit";
import { JSON_DEPTH, LIMITS as CONTRACT_LIMITS } from "@sker/contracts/limits";
import type { CreateProjectRequest, UpdateProjectRequest } from "@sker/contracts/store/v1/project";
import { parseEnum } from "../input/enum.js";
import { PROJECT_STATUS } from "./map.js";
import { checkAiSettings } from "../usage/settings.js";

const LIMITS = CONTRACT_LIMITS.project;

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

function json(field: string, value: Record<string, unknown>, maxBytes: number): string {
  const problem = jsonProblem(value, { depth: JSON_DEPTH, bytes: maxBytes });
  if (problem) throw invalid(field, problem);
  return JSON.stringify(value);
}

function checked(settings: Record<string, unknown>): Record<string, unknown> {
  checkAiSettings(settings);
  return settings;
}

export function checkCreate(req: CreateProjectRequest) {
  return {
    name: name(req.name ?? ""),
    description: description(req.description ?? ""),
    canvas_data: json("canvasData", req.canvasData ?? {}, LIMITS.canvasDataBytes),
    settings: json("settings", checked(req.settings ?? {}), LIMITS.settingsBytes),
  };
}

export function checkUpdate(req: UpdateProjectRequest) {
  const patch: { name?: string; description?: string; status?: "active" | "archived"; canvas_data?: string; settings?: string } = {};
  if (req.name !== undefined) patch.name = name(req.name);
  if (req.description !== undefined) patch.description = description(req.description);
  const status = parseEnum<"active" | "archived">("status", req.status, PROJECT_STATUS);
  if (status) patch.status = status;
  if (req.canvasData !== undefined) patch.canvas_data = json("canvasData", req.canvasData, LIMITS.canvasDataBytes);
  if (req.settings !== undefined) patch.settings = json("settings", checked(req.settings), LIMITS.settingsBytes);
  return patch;
}
