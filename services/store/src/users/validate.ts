import { invalid, jsonProblem } from "@sker/kit";
import { EMAIL_PATTERN, JSON_DEPTH, LIMITS, USERNAME_PATTERN } from "@sker/contracts/limits";
import type { RegisterRequest, UpdateMeRequest } from "@sker/contracts/store/v1/user";

const EMAIL = new RegExp(EMAIL_PATTERN);
const USERNAME = new RegExp(USERNAME_PATTERN);
const U = LIMITS.user;

export function checkEmail(raw: string | undefined): string {
  const email = (raw ?? "").trim();
  if (!email) throw invalid("email", "is required");
  if (email.length > U.email || !EMAIL.test(email)) throw invalid("email", "is not a valid email address");
  return email;
}

export function checkPassword(raw: string | undefined, field = "password"): string {
  const pw = raw ?? "";
  if (pw.length < U.passwordMin) throw invalid(field, `must be at least ${U.passwordMin} characters`);
  if (pw.length > U.passwordMax) throw invalid(field, `must be at most ${U.passwordMax} characters`);
  return pw;
}

function displayName(raw: string): string {
  const v = raw.trim();
  if (v.length > U.displayName) throw invalid("displayName", `must be at most ${U.displayName} characters`);
  return v;
}

export function checkRegister(req: RegisterRequest) {
  const email = checkEmail(req.email);
  const username = (req.username ?? "").trim();
  if (!USERNAME.test(username)) throw invalid("username", "must be 3-32 characters of letters, digits, _ and -");
  const password = checkPassword(req.password);
  return { email, username, password, displayName: displayName(req.displayName ?? "") };
}

export function checkUpdateMe(req: UpdateMeRequest) {
  const patch: { display_name?: string; avatar_url?: string; settings?: string } = {};
  if (req.displayName !== undefined) patch.display_name = displayName(req.displayName);
  if (req.avatarUrl !== undefined) {
    const url = req.avatarUrl.trim();
    if (url !== "") {
      let ok = false;
      try {
        ok = ["http:", "https:"].includes(new URL(url).protocol);
      } catch {
        ok = false;
      }
      if (!ok || url.length > U.avatarUrl) throw invalid("avatarUrl", `must be an http(s) URL of at most ${U.avatarUrl} characters`);
    }
    patch.avatar_url = url;
  }
  if (req.settings !== undefined) {
    const problem = jsonProblem(req.settings, { depth: JSON_DEPTH, bytes: U.settingsBytes });
    if (problem) throw invalid("settings", problem);
    patch.settings = JSON.stringify(req.settings);
  }
  return patch;
}

export function checkKeyName(raw: string | undefined): string {
  const name = (raw ?? "").trim();
  if (!name) throw invalid("name", "is required");
  if (name.length > LIMITS.apiKey.name) throw invalid("name", `must be at most ${LIMITS.apiKey.name} characters`);
  return name;
}

