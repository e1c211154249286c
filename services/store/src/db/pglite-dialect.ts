import type { PGlite, Results, Transaction } from "@electric-sql/pglite";
import { PGliteDialect, type PGliteDialectConfig } from "kysely";

// kysely's own PGlite dialect (0.29), with one thing added: multi-statement SQL.
//
// PGlite is ONE session. kysely 0.29's PGlite adapter declares it has no second connection, so
// kysely queues every connection acquire and a transaction holds the session to its end (the
// 45-increment test in test/db.test.ts ends at 45; the published kysely-pglite dialects, which do
// not serialize, ended at 1). Consequence for handlers: inside db.transaction() use only `trx`,
// never `deps.db` — a query on `deps.db` would wait for the transaction that is waiting for it.
//
// What the built-in dialect lacks: it sends every statement through PGlite's query(), the
// extended protocol, which takes one command. The migrations send several in one string without
// parameters ("cannot insert multiple commands into a prepared statement"), so those go through
// exec(), the simple protocol, here — inside a transaction (kysely migrates in one) as outside.

type Session = Extract<PGliteDialectConfig["pglite"], { query: unknown }>;
type Query = Pick<PGlite, "query" | "exec">;

const MULTI_STATEMENT = /;\s*\S/;

function multiStatement(sql: string, params?: unknown[]): boolean {
  return !params?.length && MULTI_STATEMENT.test(sql.trim().replace(/;\s*$/, ""));
}

function withExec(target: Query): Session["query"] {
  return async <T>(sql: string, params?: unknown[], options?: Parameters<PGlite["query"]>[2]) => {
    if (!multiStatement(sql, params)) return target.query<T>(sql, params, options);
    const results = await target.exec(sql, options);
    return (results[results.length - 1] ?? { rows: [], fields: [], affectedRows: 0 }) as Results<T>;
  };
}

/** kysely over a PGlite instance; kysely's destroy() closes it. */
export function pgliteDialect(pglite: PGlite): PGliteDialect {
  const session: Session = {
    get closed() {
      return pglite.closed;
    },
    get ready() {
      return pglite.ready;
    },
    get waitReady() {
      return pglite.waitReady;
    },
    close: () => pglite.close(),
    query: withExec(pglite),
    transaction: (fn) => pglite.transaction((tx: Transaction) => fn({ query: withExec(tx), rollback: () => tx.rollback() })),
  };
  return new PGliteDialect({ pglite: session });
}
