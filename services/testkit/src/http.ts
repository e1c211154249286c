// A small REST client for the tests: JSON in, status/headers/body out.
export interface Res<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface ReqOpts {
  token?: string;
  apiKey?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

export function client(base: string) {
  return async function req<T = any>(method: string, path: string, o: ReqOpts = {}): Promise<Res<T>> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.apiKey) headers["x-api-key"] = o.apiKey;
    let payload: string | undefined;
    if (o.raw !== undefined) payload = o.raw;
    else if (o.body !== undefined) payload = JSON.stringify(o.body);
    if (payload !== undefined) headers["content-type"] ??= "application/json";
    const res = await fetch(base + path, { method, headers, body: payload });
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, body };
  };
}

export type Req = ReturnType<typeof client>;

let n = 0;
/** Registers a fresh user through the API; answers its session. */
export async function register(req: Req, name = "u") {
  const tag = `${name}${Date.now().toString(36)}${(n++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const res = await req("POST", "/api/v1/auth/register", {
    body: { email: `${tag}@example.com`, username: tag.slice(0, 32), password: "correct horse battery" },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    ...(res.body.data as { user: { id: string; email: string; username: string }; accessToken: string; refreshToken: string }),
    password: "correct horse battery",
  };
}
