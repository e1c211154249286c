import { AppError, forbidden, forward, promiseClient, type CallContext, type Caller, type CallOptions, type ChannelPool, type Metrics } from "@sker/kit";
import { UserRole, UserServiceService, type User } from "@sker/contracts/store/v1/user";

/** How long the store's answer about one token is trusted: "within seconds" of a revocation. */
const TRUST_MS = 2_000;
const MAX_REMEMBERED = 10_000;

/**
 * The broker's authorize hook, like the store's: a user's token is good only while the store
 * says its account is live (not deleted or disabled, password unchanged, not logged out). The
 * store answers GetMe with that token; the answer is kept for TRUST_MS per token, so a burst
 * of calls costs one store call. Admin checks read the role from the same answer.
 */
export class BrokerAccess {
  private readonly users;
  private readonly known = new Map<string, { user: User; until: number }>();

  constructor(pool: ChannelPool, deadlineMs: number, metrics: Metrics) {
    this.users = promiseClient(UserServiceService, pool, { deadlineMs, metrics });
  }

  private async whoIs(opts: CallOptions): Promise<User> {
    const { token } = opts;
    const hit = this.known.get(token);
    if (hit && hit.until > Date.now()) return hit.user;
    this.known.delete(token);
    const { user } = await this.users.getMe({}, opts);
    if (!user) throw new AppError("UNAUTHENTICATED", "the store knows no such user");
    if (this.known.size >= MAX_REMEMBERED) this.known.delete(this.known.keys().next().value!);
    this.known.set(token, { user, until: Date.now() + TRUST_MS });
    return user;
  }

  authorize = async (caller: Caller, token: string): Promise<void> => {
    if (caller.kind === "user") await this.whoIs({ token });
  };

  async requireAdmin(ctx: CallContext): Promise<void> {
    if (ctx.caller.kind !== "user" || (await this.whoIs(forward(ctx))).role !== UserRole.USER_ROLE_ADMIN) throw forbidden("administrators only");
  }
}
