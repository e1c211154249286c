import { Type } from "typebox";
import { EMAIL_PATTERN, LIMITS, USERNAME_PATTERN } from "@sker/contracts/limits";
import { closed, freeObject, jsonIn, open, opt, pageQuery, partial, str, time, uuid } from "./common.js";

// Accounts: sign-up and sessions, the caller's own account, API keys, and accounts as admins see them.

const U = LIMITS.user;
const email = Type.String({ pattern: EMAIL_PATTERN, maxLength: U.email });
const password = str(U.passwordMax, U.passwordMin);
const token = str(U.oneTimeToken, 1);
const userRole = { type: "string", enum: ["user", "admin"] };

export const User = open({
  id: { type: "string" },
  email: { type: "string" },
  username: { type: "string" },
  displayName: { type: "string" },
  avatarUrl: { type: "string" },
  settings: freeObject,
  createdAt: time,
  updatedAt: time,
  role: userRole,
  emailVerified: { type: "boolean" },
});

export const AuthSession = open({
  user: User,
  accessToken: { type: "string" },
  refreshToken: { type: "string" },
  expiresIn: { type: "integer" },
  tokenType: { type: "string" },
});

export const ApiKey = open({
  id: { type: "string" },
  name: { type: "string" },
  key: { type: "string", description: "Only in the answer to the create: stored hashed" },
  prefix: { type: "string" },
  createdAt: time,
  lastUsedAt: time,
});

/** A user as admins see them. */
export const AdminUser = open({
  id: { type: "string" },
  email: { type: "string" },
  username: { type: "string" },
  displayName: { type: "string" },
  role: userRole,
  disabled: { type: "boolean" },
  emailVerified: { type: "boolean" },
  lastLoginAt: time,
  createdAt: time,
});

export const register = closed({
  email,
  username: Type.String({ pattern: USERNAME_PATTERN }),
  password,
  displayName: opt(str(U.displayName)),
  invitationToken: opt(Type.String({ minLength: 1, maxLength: 200, description: "The token of an invitation mailed to this email: its project is joined at once" })),
});
export const login = closed({ email: opt(str(U.login, 1)), username: opt(str(U.login, 1)), password: str(U.passwordMax, 1) });
export const refreshToken = closed({ refreshToken: str(U.refreshToken, 1) });
export const updateMe = partial({ displayName: str(U.displayName), avatarUrl: str(U.avatarUrl), settings: jsonIn(U.settingsBytes) });
export const changePassword = closed({ currentPassword: str(U.passwordMax, 1), newPassword: password });
export const resetRequest = closed({ email });
export const resetConfirm = closed({ token, newPassword: password });
export const verifyEmail = closed({ token });

export const createApiKey = closed({ name: str(LIMITS.apiKey.name, 1) });

export const userIdParams = closed({ id: uuid });
export const adminUsersQuery = Type.Object({ ...pageQuery, q: opt(Type.String({ maxLength: 254, description: "part of an email or username" })) });
