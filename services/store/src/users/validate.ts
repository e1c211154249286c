import { invalid } from "@sker/kit";
import type { RegisterRequest, UpdateMeRequest } from "@sker/contracts/store/v1/user";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const USERNAME = /^[a-zA-Z0-9_-]{3,32}$/;
const SETTINGS_BYTES = 64 * 1024;

export function checkEmail(raw: string | undefined): string {
  const email = (raw ?? "").trim();
  if (!email) throw invalid("email", "is required");
  if (email.length > 254 || !EMAIL.test(email)) throw invalid("email", "is not a valid email address");
  return email;
}

export function checkPassword(raw: string | undefined, field = "password"): string {
  const pw = raw ?? "";
  if (pw.length < 8) throw invalid(field, "must be at least 8 characters");
  if (pw.length > 1024) throw invalid(field, "must be at most 1024 characters");
  return pw;
}

function displayName(raw: string): string {
  const v = raw.trim();
  if (v.length > 100) throw invalid("displayName", "must be at most 100 characters");
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
      if (!ok || url.length > 2048) throw invalid("avatarUrl", "must be an http(s) URL of at most 2048 characters");
    }
    patch.avatar_url = url;
  }
  if (req.settings !== undefined) {
    const json = JSON.stringify(req.settings);
    if (Buffer.byteLength(json) > SETTINGS_BYTES) throw invalid("settings", `must be at most ${SETTINGS_BYTES} bytes as JSON`);
    patch.settings = json;
  }
  return patch;
}

export function checkKeyName(raw: string | undefined): string {
  const name = (raw ?? "").trim();
  if (!name) throw invalid("name", "is required");
  if (name.length > 100) throw invalid("name", "must be at most 100 characters");
  return name;
}

/** 23505 with the name of the unique index that refused the row. */
export function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e?.code !== "23505") return undefined;
  return e.constraint ?? e.message ?? "";
}
