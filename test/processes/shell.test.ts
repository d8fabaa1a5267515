import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {clientCommand} from '../../src/cli/tools/db-shell'
import {lines, runManageWithInput, Sandbox, waitForFile, type Env, type Result} from '../helpers/cli'
import {itOn, SERVER_URLS} from '../helpers/db'

/** `manage shell` and `manage dbshell`, spawned for real with their stdin piped. */

function context(result: Result): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`
}

describe('manage shell / dbshell', function () {
  this.timeout(30_000)
  this.slow(2_000)

  let box: Sandbox

  beforeEach(() => {
    box = new Sandbox()
  })

  afterEach(() => {
    box.remove()
  })

  /** A folder for PATH holding only the given scripts (no database client unless faked). */
  function binDir(scripts: Record<string, string> = {}): string {
    const dir = box.file('bin')
    fs.mkdirSync(dir, {recursive: true})
    for (const [name, body] of Object.entries(scripts)) fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, {mode: 0o755})
    return dir
  }

  const shell = (input: string, extra: Env = {}) => runManageWithInput(['shell'], box.env({TEST_CRONS: 'SuccessJob,FailJob', ...extra}), input)
  const dbshell = (input: string, extra: Env = {}, args: string[] = []) => runManageWithInput(['dbshell', ...args], box.env(extra), input)

  describe('shell', () => {
    it('runs a query piped in before .exit: the REPL waits for it before closing the database', async () => {
      const result = await shell("db.raw('select 1 as x').then(r => console.log('RESULT', JSON.stringify(r)))\n.exit\n")
      expect(result.stdout, context(result)).to.include('RESULT [{"x":1}]\n')
      expect(result.stderr).to.equal('')
      expect(result.code).to.equal(0)
    })

    it('prints one line saying what is loaded, first', async () => {
      const result = await shell('.exit\n')
      expect(lines(result.stdout)[0], context(result)).to.equal(
        `manage shell: settings (${box.settings}), db (knex, sqlite file ${box.dbFile}), crons (SuccessJob, FailJob), manage (the framework); top-level await works; .exit to quit`,
      )
      expect(result.code).to.equal(0)
    })

    it('has settings, db, crons by class name and the framework as manage in scope; top-level await; ends at end of input', async () => {
      const input = [
        "console.log('SETTINGS', settings.timeZone, settings.file === process.env.MANAGE_SETTINGS)",
        "console.log('CRONS', Object.keys(crons).join(','), new crons.SuccessJob().code)",
        "console.log('MANAGE', typeof manage.runCrons, typeof manage.CronJobBase, typeof manage.KnexRunStore)",
        // One line: piped into a REPL, the next line does not wait for an await on this one.
        "const rows = await db.raw('select 2 as y'); console.log('AWAIT', JSON.stringify(rows))",
        // .clear makes a fresh context: the names are put back.
        '.clear',
        "console.log('AFTER CLEAR', typeof db.raw, typeof settings, typeof crons.FailJob)",
        '', // end of input, no .exit
      ].join('\n')
      const result = await shell(input)
      expect(result.stdout, context(result)).to.include('SETTINGS UTC true\n')
      expect(result.stdout).to.include('CRONS SuccessJob,FailJob test.success\n')
      expect(result.stdout).to.include('MANAGE function function function\n')
      expect(result.stdout).to.include('AWAIT [{"y":2}]\n')
      expect(result.stdout).to.include('AFTER CLEAR function object function\n')
      expect(result.code).to.equal(0)
    })

    it('broken settings: one line, exit 1, no REPL', async () => {
      const result = await shell('.exit\n', {MANAGE_SETTINGS: box.file('missing.js')})
      expect(lines(result.stderr), context(result)).to.have.length(1)
      expect(result.stderr).to.match(/^error: settings module .*missing\.js does not exist/)
      expect(result.stdout).to.equal('')
      expect(result.code).to.equal(1)
    })
  })

  describe('dbshell', () => {
    it('sqlite: runs sqlite3 on the database file', async () => {
      const result = await dbshell('SELECT 40+2;\n')
      expect(result.stdout, context(result)).to.equal('42\n')
      expect(result.code).to.equal(0)
    })

    it("exits with the client's status, and passes the arguments after -- to it", async () => {
      const status = await dbshell('.exit 3\n')
      expect(status.code, context(status)).to.equal(3)
      const line = await dbshell('SELECT 40+2;\n', {}, ['--', '-line'])
      expect(line.stdout, context(line)).to.equal(' 40+2 = 42\n')
    })

    itOn('postgres')('PostgreSQL: runs psql', async () => {
      const result = await dbshell('SELECT 40+2;\n', {DATABASE_URL: SERVER_URLS.postgres})
      expect(lines(result.stdout), context(result)).to.deep.equal([' ?column? ', '----------', '       42', '(1 row)'])
      expect(result.code).to.equal(0)
    })

    itOn('mysql')('MySQL / MariaDB: runs the mysql client', async () => {
      const result = await dbshell('SELECT 40+2;\n', {DATABASE_URL: SERVER_URLS.mysql})
      expect(lines(result.stdout), context(result)).to.deep.equal(['40+2', '42'])
      expect(result.code).to.equal(0)
    })

    it('passes host, port, user and database as arguments, the password only in the environment', async () => {
      const echo = 'echo "$0 $*"\necho "PGPASSWORD=${PGPASSWORD:-} PGSSLMODE=${PGSSLMODE:-} MYSQL_PWD=${MYSQL_PWD:-}"'
      const PATH = binDir({psql: echo, mysql: echo})
      const pg = await dbshell('', {PATH, DATABASE_URL: 'postgres://app:s3cret%40x@db.example:6543/shop?sslmode=require'})
      expect(lines(pg.stdout), context(pg)).to.deep.equal([`${PATH}/psql -h db.example -p 6543 -U app -d shop`, 'PGPASSWORD=s3cret@x PGSSLMODE=require MYSQL_PWD='])
      const my = await dbshell('', {PATH, DATABASE_URL: 'mysql://app:pw%20x@db.example:3307/shop'})
      expect(lines(my.stdout), context(my)).to.deep.equal([`${PATH}/mysql --protocol=TCP -h db.example -P 3307 -u app shop`, 'PGPASSWORD= PGSSLMODE= MYSQL_PWD=pw x'])
      // No mysql: the mariadb client is used.
      const mariadb = binDir({mariadb: echo})
      fs.rmSync(path.join(PATH, 'mysql'))
      const fallback = await dbshell('', {PATH: mariadb, DATABASE_URL: 'mysql://app@db.example/shop'})
      expect(lines(fallback.stdout)[0], context(fallback)).to.equal(`${PATH}/mariadb --protocol=TCP -h db.example -P 3306 -u app shop`)
    })

    it("PostgreSQL's ?password= (and the URL's own) reaches psql in PGPASSWORD, never in its arguments", async () => {
      // A fake psql on PATH records its arguments and environment: the server here trusts every local
      // connection, so a real psql would connect whether or not it was given the password.
      const record = 'printf "%s\\n" "$@" > "$TEST_DIR/argv"\nexport -p > "$TEST_DIR/env"'
      const PATH = binDir({psql: record})
      const cases: Array<[string, string, string[]]> = [
        ['postgres://app@127.0.0.1:5432/test?password=Qz7-query%26pw&sslmode=disable', 'Qz7-query&pw', ['-h', '127.0.0.1', '-p', '5432', '-U', 'app', '-d', 'test']],
        ['postgres://app:Qz7-userinfo@127.0.0.1/test', 'Qz7-userinfo', ['-h', '127.0.0.1', '-U', 'app', '-d', 'test']],
        // pg reads the query over the URL's own: psql connects as the app does.
        ['postgres://app:Qz7-old@db.example/test?password=Qz7-new&user=other&host=127.0.0.1&port=5433', 'Qz7-new', ['-h', '127.0.0.1', '-p', '5433', '-U', 'other', '-d', 'test']],
      ]
      for (const [url, password, args] of cases) {
        const result = await dbshell('', {PATH, DATABASE_URL: url})
        expect(result.code, context(result)).to.equal(0)
        const argv = fs.readFileSync(box.file('argv'), 'utf8')
        expect(lines(argv), url).to.deep.equal(args)
        expect(argv).not.to.include('Qz7')
        expect(lines(fs.readFileSync(box.file('env'), 'utf8')), url).to.include(`export PGPASSWORD='${password}'`)
        expect(`${result.stdout}${result.stderr}`).not.to.include('Qz7')
      }
    })

    it('Ctrl-C belongs to the client: SIGINT does not stop manage while the client runs', async () => {
      // A client that says it started, then waits for the test's go-ahead.
      const PATH = `${binDir({sqlite3: 'touch "$TEST_DIR/started"\nwhile [ ! -f "$TEST_DIR/go" ]; do sleep 0.02; done\necho done'})}${path.delimiter}${process.env.PATH}`
      const running = box.start(['dbshell'], {PATH})
      await waitForFile(box.file('started'), running.done)
      process.kill(running.pid, 'SIGINT')
      // Let the signal arrive before the client is allowed to finish.
      await new Promise((resolve) => setTimeout(resolve, 200))
      fs.writeFileSync(box.file('go'), '')
      const result = await running.done
      expect(result.stdout, context(result)).to.equal('done\n')
      expect(result.signal).to.equal(null)
      expect(result.code).to.equal(0)
    })

    it('reads knexfile-style connection objects too (PostgreSQL connectionString, a MySQL socket)', () => {
      const pg = clientCommand({dialect: 'postgres', description: 'x', secrets: [], knex: {client: 'pg', connection: {connectionString: 'postgres://u:p@h:5433/d', database: 'other'}}})
      expect(pg).to.deep.include({programs: ['psql'], args: ['-h', 'h', '-p', '5433', '-U', 'u', '-d', 'other'], env: {PGPASSWORD: 'p'}})
      const my = clientCommand({dialect: 'mysql', description: 'x', secrets: [], knex: {client: 'mysql2', connection: {socketPath: '/run/mysqld/mysqld.sock', user: 'u', password: 'p', database: 'd'}}})
      expect(my).to.deep.include({programs: ['mysql', 'mariadb'], args: ['-S', '/run/mysqld/mysqld.sock', '-u', 'u', 'd'], env: {MYSQL_PWD: 'p'}})
    })

    it('a missing client: one line naming what to install, exit 1', async () => {
      const PATH = binDir()
      const cases: Array<[string, string]> = [
        [box.databaseUrl, `the database client sqlite3 for the sqlite file ${box.dbFile} is not installed (not found on PATH): install the sqlite3 command-line client (e.g. \`sudo apt-get install sqlite3\`)`],
        ['postgres://app@db.example/shop', 'the database client psql for the postgres database postgres://app@db.example/shop is not installed (not found on PATH): install the PostgreSQL client psql (e.g. `sudo apt-get install postgresql-client`)'],
        ['mysql://app@db.example/shop', 'the database client mysql or mariadb for the mysql database mysql://app@db.example/shop is not installed (not found on PATH): install the MySQL or MariaDB client (e.g. `sudo apt-get install mariadb-client`)'],
      ]
      for (const [url, message] of cases) {
        const result = await dbshell('SELECT 1;\n', {PATH, DATABASE_URL: url})
        expect(lines(result.stderr), context(result)).to.deep.equal([`error: ${message}`])
        expect(result.code).to.equal(1)
      }
    })
  })
})
