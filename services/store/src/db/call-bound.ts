import { AppError, callStopped } from "@sker/kit";
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, Kysely, QueryResult, TransactionSettings } from "kysely";

/**
 * Any dialect, bound to the RPC being served (kit's call scope): for a call that was cancelled
 * or is past its deadline no connection is taken, no statement starts and no transaction
 * commits — it rolls back, and the handler fails with the call's own reason. Its caller has
 * given up, so a write finished now would be one nobody was told of. Work outside a call (the
 * outbox relay, migrations) is not affected. Rollbacks always run.
 */
export class CallBoundDialect implements Dialect {
  constructor(private readonly inner: Dialect) {}
  createAdapter() {
    return this.inner.createAdapter();
  }
  createDriver(): Driver {
    return new CallBoundDriver(this.inner.createDriver());
  }
  createQueryCompiler() {
    return this.inner.createQueryCompiler();
  }
  createIntrospector(db: Kysely<any>) {
    return this.inner.createIntrospector(db);
  }
}

/** The connection a stopped call gets: no statement runs on it, nothing of the inner driver is held. */
function refusing(stop: AppError): DatabaseConnection {
  return {
    executeQuery: () => Promise.reject(stop),
    streamQuery: async function* () {
      throw stop;
    },
  };
}

function stopIfStopped(): void {
  const stop = callStopped();
  if (stop) throw stop;
}

/** A statement that failed because the call stopped (pg-cancel.ts cancelled it) fails with the call's reason. */
function failure(err: unknown): unknown {
  const stop = callStopped();
  return stop ? new AppError(stop.code, stop.message, stop.details, { cause: err }) : err;
}

class CallBoundDriver implements Driver {
  /** Ours → the inner driver's, which it must get back. */
  private readonly inner = new WeakMap<DatabaseConnection, DatabaseConnection>();

  constructor(private readonly driver: Driver) {
    // Savepoints are optional in a driver; kysely checks for them.
    if (!driver.savepoint) this.savepoint = undefined;
    if (!driver.rollbackToSavepoint) this.rollbackToSavepoint = undefined;
    if (!driver.releaseSavepoint) this.releaseSavepoint = undefined;
  }

  private of(conn: DatabaseConnection): DatabaseConnection {
    return this.inner.get(conn) ?? conn;
  }

  init() {
    return this.driver.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // Never throw here: kysely (0.29) takes its one-session lock for PGlite before this and frees
    // it only in releaseConnection, so a throw would hold it for good and every later query would
    // wait forever. A stopped call gets a connection that refuses every statement instead, and
    // holds none of the inner driver's.
    const stop = callStopped();
    if (stop) return refusing(stop);
    const conn = await this.driver.acquireConnection();
    const bound: DatabaseConnection = {
      executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
        stopIfStopped();
        return conn.executeQuery<R>(q).catch((err: unknown) => {
          throw failure(err);
        });
      },
      streamQuery<R>(q: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
        stopIfStopped();
        return conn.streamQuery<R>(q, chunkSize);
      },
    };
    this.inner.set(bound, conn);
    return bound;
  }

  beginTransaction(conn: DatabaseConnection, settings: TransactionSettings) {
    stopIfStopped();
    return this.driver.beginTransaction(this.of(conn), settings);
  }

  /** Throwing here makes kysely roll the transaction back. */
  commitTransaction(conn: DatabaseConnection) {
    stopIfStopped();
    return this.driver.commitTransaction(this.of(conn));
  }

  rollbackTransaction(conn: DatabaseConnection) {
    return this.driver.rollbackTransaction(this.of(conn));
  }

  savepoint? = (conn: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver["savepoint"]>>[2]) => this.driver.savepoint!(this.of(conn), name, compile);
  rollbackToSavepoint? = (conn: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver["rollbackToSavepoint"]>>[2]) =>
    this.driver.rollbackToSavepoint!(this.of(conn), name, compile);
  releaseSavepoint? = (conn: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver["releaseSavepoint"]>>[2]) =>
    this.driver.releaseSavepoint!(this.of(conn), name, compile);

  async releaseConnection(conn: DatabaseConnection) {
    const inner = this.inner.get(conn);
    this.inner.delete(conn);
    if (inner) await this.driver.releaseConnection(inner);
  }

  destroy() {
    return this.driver.destroy();
  }
}
