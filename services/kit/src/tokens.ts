import { randomUUID } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { AppError, unauthenticated } from "./errors.js";

/** Who is calling: an end user (access token or API key) or one of our services. */
export type Caller =
  | {
      kind: "user";
      userId: string;
      email: string;
      username: string;
      /** The token's id (jti): a logout puts it on the deny-list until it expires. */
      tokenId: string;
      /** The account's token version when signed: a password change or a disable bumps it. */
      tokenVersion: number;
      /** When the token expires (ms since epoch). */
      expiresAt: number;
    }
  | { kind: "service"; name: string };

export interface TokenSettings {
  jwtSecret: string;
  jwtIssuer: string;
  jwtAudience: string;
}

const ALG = "HS256";

/** Signs and verifies our JWTs. The algorithm is pinned on verify: "none" and RS/HS swaps fail. */
export class Tokens {
  private readonly key: Uint8Array;
  private readonly serviceTokens = new Map<string, { token: string; renewAt: number }>();

  constructor(private readonly settings: TokenSettings) {
    this.key = new TextEncoder().encode(settings.jwtSecret);
  }

  async signAccess(user: { id: string; email: string; username: string; token_version?: number }, ttlSeconds: number): Promise<string> {
    return new SignJWT({ typ: "access", email: user.email, username: user.username, tv: user.token_version ?? 0 })
      .setProtectedHeader({ alg: ALG })
      .setJti(randomUUID())
      .setSubject(user.id)
      .setIssuer(this.settings.jwtIssuer)
      .setAudience(this.settings.jwtAudience)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.key);
  }

  /** A token naming one of our services, cached and renewed well before it expires. */
  async service(name: string): Promise<string> {
    const now = Date.now();
    const cached = this.serviceTokens.get(name);
    if (cached && cached.renewAt > now) return cached.token;
    const token = await new SignJWT({ typ: "service" })
      .setProtectedHeader({ alg: ALG })
      .setSubject(`service:${name}`)
      .setIssuer(this.settings.jwtIssuer)
      .setAudience(this.settings.jwtAudience)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(this.key);
    this.serviceTokens.set(name, { token, renewAt: now + 30 * 60_000 });
    return token;
  }

  /**
   * Verified tokens, remembered until they expire: every hop verifies the same bearer token
   * (gateway, broker, store), and one user sends many requests with one token. Only successes
   * are kept, keyed by the whole token string, so a forged or altered token never matches.
   */
  private readonly verified = new Map<string, { caller: Caller; expMs: number }>();
  private static readonly MAX_REMEMBERED = 10_000;

  async verify(token: string): Promise<Caller> {
    const known = this.verified.get(token);
    if (known && known.expMs > Date.now()) return known.caller;
    if (known) this.verified.delete(token);
    const caller = await this.verifySignature(token);
    if (this.verified.size >= Tokens.MAX_REMEMBERED) this.verified.delete(this.verified.keys().next().value!);
    return caller;
  }

  private async verifySignature(token: string): Promise<Caller> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: [ALG],
        issuer: this.settings.jwtIssuer,
        audience: this.settings.jwtAudience,
        requiredClaims: ["sub", "exp"],
      });
      const sub = payload.sub!;
      const caller: Caller | undefined =
        payload.typ === "service" && sub.startsWith("service:")
          ? { kind: "service", name: sub.slice(8) }
          : payload.typ === "access" && typeof payload.email === "string"
            ? {
                kind: "user",
                userId: sub,
                email: payload.email,
                username: String(payload.username ?? ""),
                tokenId: typeof payload.jti === "string" ? payload.jti : "",
                tokenVersion: typeof payload.tv === "number" ? payload.tv : 0,
                expiresAt: payload.exp! * 1000,
              }
            : undefined;
      if (!caller) throw unauthenticated("token type not accepted");
      this.verified.set(token, { caller, expMs: payload.exp! * 1000 });
      return caller;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AppError("UNAUTHENTICATED", "token expired", undefined, { cause: err, reason: "TOKEN_EXPIRED" });
      if (err instanceof joseErrors.JOSEError) throw new AppError("UNAUTHENTICATED", "invalid token", undefined, { cause: err });
      throw err;
    }
  }
}

/** "Bearer x" → "x"; anything else → undefined. */
export function bearer(header: unknown): string | undefined {
  if (typeof header !== "string") return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m ? m[1] : undefined;
}
