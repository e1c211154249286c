import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";

// scrypt (memory-hard, in node:crypto, no native addon). The parameters travel with the hash,
// so raising the cost later leaves old hashes verifiable.
const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

const KEY_LEN = 32;
const R = 8;
const P = 1;

const maxmem = (N: number, r: number) => 128 * N * r * 2;

export async function hashPassword(password: string, N: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize("NFKC"), salt, KEY_LEN, { N, r: R, p: P, maxmem: maxmem(N, R) });
  return `scrypt$${N}$${R}$${P}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split("$");
  if (alg !== "scrypt" || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const N = Number(n);
  const key = await scrypt(password.normalize("NFKC"), Buffer.from(salt, "base64url"), expected.length, {
    N,
    r: Number(r),
    p: Number(p),
    maxmem: maxmem(N, Number(r)),
  });
  return timingSafeEqual(key, expected);
}

/** A hash made with less than today's cost: rehashed on the next successful login. */
export function needsRehash(stored: string, N: number): boolean {
  const [, n, r, p] = stored.split("$");
  return Number(n) < N || Number(r) !== R || Number(p) !== P;
}

/** A hash nobody's password matches, verified when the login names no user (same timing). */
let dummy: Promise<string> | undefined;
export function dummyHash(N: number): Promise<string> {
  return (dummy ??= hashPassword(randomBytes(16).toString("hex"), N));
}
