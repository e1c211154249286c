import type { AuthSession as Session } from "@sker/contracts/store/v1/user";
import * as map from "../rest/map.js";

/** An AuthSession as REST answers it (register, login, refresh, password change). */
export const session = (s: Session | undefined) => ({
  user: map.user(s?.user),
  accessToken: s?.accessToken ?? "",
  refreshToken: s?.refreshToken ?? "",
  expiresIn: s?.expiresIn ?? 0,
  tokenType: "Bearer",
});
