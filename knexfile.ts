import path from 'node:path'
import type {Knex} from 'knex'

// Compiled to dist/knexfile.js; the project root is one folder up from there.
const root = path.basename(__dirname) === 'dist' ? path.dirname(__dirname) : __dirname

/**
 * The database per environment (MANAGE_ENV, then NODE_ENV, default 'development').
 * DATABASE_URL overrides all of this: sqlite:///abs/path.sqlite3, postgres://…, mysql://….
 */
const config: Record<string, Knex.Config> = {
  development: {
    client: 'sqlite3',
    connection: {filename: path.join(root, 'db.sqlite3')},
    useNullAsDefault: true,
  },
  test: {
    client: 'sqlite3',
    connection: {filename: path.join(root, 'var', 'test.sqlite3')},
    useNullAsDefault: true,
  },
  production: {
    client: 'sqlite3',
    connection: {filename: path.join(root, 'var', 'manage.sqlite3')},
    useNullAsDefault: true,
  },
}

export default config
