import type {Dialect} from './database'

export type Row = Record<string, unknown>

/** One SQL statement with `?` placeholders, on every dialect. */
export interface Statement {
  sql: string
  bindings: unknown[]
}

export interface WriteResult {
  /** Rows the statement changed. */
  changes: number
  /** The new row's id after an INSERT (on PostgreSQL: the `id` of `RETURNING id`), else null. */
  lastId: number | null
}

/**
 * One connection of the database driver itself, with `?` placeholders on every dialect. The run
 * log's SQL goes through it (see ConnectionSource for where the connection comes from), which
 * saves knex's query builder, runner and pool on every statement (a run sends about ten).
 */
export interface SqlConnection {
  readonly dialect: Dialect
  all(sql: string, bindings?: readonly unknown[]): Promise<Row[]>
  run(sql: string, bindings?: readonly unknown[]): Promise<WriteResult>
}

/** A statement's rows, on this connection. */
export function read(connection: SqlConnection, statement: Statement): Promise<Row[]> {
  return connection.all(statement.sql, statement.bindings)
}

/** A statement's write, on this connection. */
export function write(connection: SqlConnection, statement: Statement): Promise<WriteResult> {
  return connection.run(statement.sql, statement.bindings)
}

/** Told of every statement sent (knex's 'query' event, which MANAGE_SQL_COUNT counts). */
export type StatementListener = (sql: string, bindings: readonly unknown[]) => void

interface Sqlite3Database {
  all(sql: string, bindings: unknown[], callback: (error: Error | null, rows: Row[]) => void): void
  run(sql: string, bindings: unknown[], callback: (this: {changes: number; lastID: number}, error: Error | null) => void): void
  prepare(sql: string, callback: (error: Error | null) => void): Sqlite3Statement
}

interface Sqlite3Statement {
  all(bindings: unknown[], callback: (error: Error | null, rows: Row[]) => void): void
  run(bindings: unknown[], callback: (this: {changes: number; lastID: number}, error: Error | null) => void): void
  finalize(callback: () => void): void
}

/**
 * sqlite statements prepared once and kept: the sqlite3 driver's db.run(sql) is three trips to
 * its thread pool (prepare, run, finalize), a kept statement's run is one. sqlite refuses to close a connection whose statements are not
 * finalized, so whoever keeps them finalizes them before the connection closes.
 */
export class PreparedStatements {
  private readonly statements = new Map<string, Promise<Sqlite3Statement>>()
  /** The statements whose prepare has succeeded: used without a wait (a promise and a turn of the loop saved per statement). */
  private readonly prepared = new Map<string, Sqlite3Statement>()

  /** The statement for `sql`, if it is prepared already. */
  ready(sql: string): Sqlite3Statement | undefined {
    return this.prepared.get(sql)
  }

  /** The statement for `sql` on `db`, prepared on first use (one connection's statements per instance). */
  get(db: Sqlite3Database, sql: string): Promise<Sqlite3Statement> {
    let statement = this.statements.get(sql)
    if (!statement) {
      // Waited for: a statement whose prepare failed would never answer its run.
      statement = new Promise((resolve, reject) => {
        const prepared = db.prepare(sql, (error) => {
          if (error) return reject(error)
          if (this.statements.get(sql) === statement) this.prepared.set(sql, prepared)
          resolve(prepared)
        })
      })
      statement.catch(() => this.statements.delete(sql))
      this.statements.set(sql, statement)
    }
    return statement
  }

  async finalize(): Promise<void> {
    const all = [...this.statements.values()]
    this.statements.clear()
    this.prepared.clear()
    await Promise.all(all.map((statement) => statement.then((prepared) => new Promise<void>((resolve) => prepared.finalize(resolve)), () => undefined)))
  }
}

interface PgClient {
  query(sql: string, bindings: unknown[]): Promise<{rows: Row[]; rowCount: number | null}>
}

interface Mysql2Connection {
  query(options: {sql: string; values: unknown[]; timeout?: number}, callback: (error: Error | null, result: unknown) => void): void
}

/** A connection of the sqlite3, pg or mysql2 driver (knex's own connections are these). */
export function sqlConnection(dialect: Dialect, driverConnection: unknown, options: {onStatement?: StatementListener; prepared?: PreparedStatements; timeoutMs?: number} = {}): SqlConnection {
  const told = (sql: string, bindings: readonly unknown[]) => options.onStatement?.(sql, bindings)
  switch (dialect) {
    case 'sqlite': {
      const db = driverConnection as Sqlite3Database
      // The statement to run: a kept one, or the SQL through the connection (prepared for this one call).
      const statementFor = async (sql: string): Promise<Pick<Sqlite3Statement, 'all' | 'run'>> =>
        options.prepared ? options.prepared.get(db, sql) : {all: (bindings, done) => db.all(sql, bindings, done), run: (bindings, done) => db.run(sql, bindings, done)}
      return {
        dialect,
        all: async (sql, bindings = []) => {
          told(sql, bindings)
          const statement = options.prepared?.ready(sql) ?? (await statementFor(sql))
          return new Promise((resolve, reject) => statement.all([...bindings], (error, rows) => (error ? reject(error) : resolve(rows))))
        },
        run: async (sql, bindings = []) => {
          told(sql, bindings)
          const statement = options.prepared?.ready(sql) ?? (await statementFor(sql))
          return new Promise((resolve, reject) =>
            statement.run([...bindings], function (error) {
              if (error) reject(error)
              else resolve({changes: this.changes, lastId: /^\s*insert/i.test(sql) ? this.lastID : null})
            }),
          )
        },
      }
    }
    case 'postgres': {
      const client = driverConnection as PgClient
      const query = (sql: string, bindings: readonly unknown[]) => {
        told(sql, bindings)
        return client.query(numbered(sql), [...bindings])
      }
      return {
        dialect,
        all: async (sql, bindings = []) => (await query(sql, bindings)).rows,
        run: async (sql, bindings = []) => {
          const result = await query(sql, bindings)
          const id = result.rows[0]?.id
          return {changes: result.rowCount ?? 0, lastId: id === undefined || id === null ? null : Number(id)}
        },
      }
    }
    case 'mysql': {
      const connection = driverConnection as Mysql2Connection
      const query = (sql: string, bindings: readonly unknown[]) => {
        told(sql, bindings)
        // mysql2 has no server-side statement timeout for every statement: its own timer gives up on the query.
        return new Promise<unknown>((resolve, reject) => connection.query({sql, values: [...bindings], timeout: options.timeoutMs}, (error, result) => (error ? reject(error) : resolve(result))))
      }
      return {
        dialect,
        all: async (sql, bindings = []) => (await query(sql, bindings)) as Row[],
        run: async (sql, bindings = []) => {
          const result = (await query(sql, bindings)) as {affectedRows?: number; insertId?: number}
          return {changes: result.affectedRows ?? 0, lastId: result.insertId ? Number(result.insertId) : null}
        },
      }
    }
  }
}

/** `?` placeholders as PostgreSQL's $1, $2, … (manage's SQL has no `?` inside literals). */
export function numbered(sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

const BEGIN: Record<Dialect, string> = {
  // IMMEDIATE: take sqlite's write lock first, waiting with the busy timeout. A deferred
  // transaction that reads, then writes, fails with SQLITE_BUSY when another process writes
  // first (a read lock cannot be upgraded), and the busy timeout does not help it.
  sqlite: 'BEGIN IMMEDIATE',
  postgres: 'BEGIN',
  mysql: 'START TRANSACTION',
}

/**
 * Run `body` in a transaction on `connection`: committed when it returns `commit: true`, rolled
 * back when it returns `commit: false` or throws.
 */
export async function inTransaction<T>(connection: SqlConnection, body: () => Promise<{commit: boolean; value: T}>): Promise<T> {
  await connection.run(BEGIN[connection.dialect])
  try {
    const outcome = await body()
    await connection.run(outcome.commit ? 'COMMIT' : 'ROLLBACK')
    return outcome.value
  } catch (error) {
    // A failed COMMIT leaves the transaction open on sqlite, aborted on PostgreSQL: end it either way.
    await connection.run('ROLLBACK').catch(() => undefined)
    throw error
  }
}
