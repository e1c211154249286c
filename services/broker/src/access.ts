import { AppError, forbidden, forward, promiseClient, type CallContext, type CallOptions, type ChannelPool, type Metrics } from "@sker/kit";
import { UserRole, UserServiceService, type User } from "@sker/contracts/store/v1/user";

/** How long the store's answer about one token is trusted: "within seconds" of a revocation. */
const TRUST_MS = 2_000;
const MAX_REMEMBERED = 10_000;

/**
 * Whether a user's token is still good (account not deleted or disabled, password unchanged,
 * not logged out) is the store's to say. Every broker RPC that serves a user's data reaches the
 * store with that user's token (forwarded, or relayed as ON_BEHALF_OF), and the store's own
 * authorize refuses a dead account within seconds; checking here as well cost every idle
 * submission a GetMe round trip to the store for nothing. So the broker asks only for the RPCs
 * that never reach the store as the user: ListModels and the admin RPCs. The store's answer
 * (GetMe with that token) is kept for TRUST_MS per token; admin checks read the role from it.
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

  /** A live user's call (the signature was checked by the server's authenticate interceptor). */
  async requireUser(ctx: CallContext): Promise<void> {
    if (ctx.caller.kind !== "user") throw new AppError("UNAUTHENTICATED", "this call needs a user's token");
    await this.whoIs(forward(ctx));
  }

  async requireAdmin(ctx: CallContext): Promise<void> {
    if (ctx.caller.kind !== "user" || (await this.whoIs(forward(ctx))).role !== UserRole.USER_ROLE_ADMIN) throw forbidden("administrators only");
  }
}
