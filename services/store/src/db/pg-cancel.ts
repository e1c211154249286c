import pg from "pg";
import type { PostgresPool, PostgresPoolClient } from "kysely";
import { callSignal } from "@sker/kit";

const WATCHED = Symbol("sker.cancelOnAbort");

type Watched = pg.PoolClient & { [WATCHED]?: true; processID: number; secretKey: number; host: string; port: number };
type CancelConnection = NodeJS.EventEmitter & { connect(port: number | string, host?: string): void; cancel(processID: number, secretKey: number): void };

/**
 * The pool, with clients that cancel their running statement when the RPC they serve is
 * cancelled or passes its deadline: a statement waiting on a row lock would otherwise hold the
 * connection, and the call, until the lock is free. PostgreSQL gets a CancelRequest on a
 * connection of its own (what psql's Ctrl-C sends). A client that was sent one is closed, not
 * pooled again, so a cancel that arrives late can never stop another call's statement.
 */
export function cancellingPool(pool: pg.Pool): PostgresPool {
  return {
    connect: async () => watch((await pool.connect()) as Watched) as PostgresPoolClient,
    end: () => pool.end(),
    options: pool.options,
  };
}

/** A CancelRequest for the client's running statement, on a connection of its own (the server closes it). */
function sendCancel(client: Watched): void {
  const con = new (pg as unknown as { Connection: new () => CancelConnection }).Connection();
  con.on("error", () => undefined); // best effort: the check before commit still holds
  con.once("connect", () => con.cancel(client.processID, client.secretKey));
  if (client.host?.startsWith("/")) con.connect(`${client.host}/.s.PGSQL.${client.port}`);
  else con.connect(client.port, client.host);
}

function watch(client: Watched): Watched {
  if (client[WATCHED]) return client;
  client[WATCHED] = true;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const release = client.release.bind(client);
  let sentCancel = false;
  client.query = ((...args: unknown[]) => {
    const signal = callSignal();
    const result = query(...args);
    // Cursors (streamed reads) are not thenables: they stop when their reader does.
    if (!signal || !(result instanceof Promise)) return result;
    const onAbort = () => {
      sentCancel = true;
      sendCancel(client);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    return result.finally(() => signal.removeEventListener("abort", onAbort));
  }) as typeof client.query;
  client.release = (destroy?: Error | boolean) => release(destroy || sentCancel);
  return client;
}
