import type { Static } from "typebox";
import { invalid } from "@sker/kit";
import type { ListUsersRequest, LoginRequest, RegisterRequest } from "@sker/contracts/store/v1/user";
import type * as schema from "../schemas/users.js";
import { page } from "./common.js";

// REST → proto for the account routes.

export const register = (b: Static<typeof schema.register>): RegisterRequest => ({
  email: b.email,
  username: b.username,
  password: b.password,
  displayName: b.displayName ?? "",
  invitationToken: b.invitationToken ?? "",
});

/** One login field: the email, or else the username. */
export function login(b: Static<typeof schema.login>): LoginRequest {
  const login = b.email ?? b.username;
  if (!login) throw invalid("email", "send email or username");
  return { login, password: b.password };
}

export const listUsers = (q: Static<typeof schema.adminUsersQuery>): ListUsersRequest => ({ page: page(q), query: q.q ?? "" });
