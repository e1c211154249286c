import { createHash, randomBytes } from "node:crypto";

// Refresh tokens and API keys are random and stored only as sha256: a database leak does not
// hand out sessions. (A fast hash is right here: the inputs are 256 random bits, not passwords.)
export const newSecret = (prefix = "") => prefix + randomBytes(32).toString("base64url");
export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
