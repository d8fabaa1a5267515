import {expect} from 'chai'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {configFromUrl, resolveDatabaseConfig} from '../../src/core/db/database'
import {parseDatabaseUrl, scrubSecrets} from '../../src/core/db/database-url'
import {UsageError} from '../../src/core/base/errors'
import {callManage, SETTINGS} from '../helpers/cli'

describe('DATABASE_URL: read strictly, shown without its secrets', () => {
  // [url, what `about` and every error show of it, the secrets it holds]
  const good: Array<[string, string, string[]]> = [
    ['postgres://app:S3cr3t-pw@db.example:5432/shop', 'postgres://app:***@db.example:5432/shop', ['S3cr3t-pw']],
    ['postgres://app@127.0.0.1:1/db?password=S3cr3t-pw', 'postgres://app@127.0.0.1:1/db?password=***', ['S3cr3t-pw']],
    ['postgresql://app@h/db?sslmode=require&sslpassword=k3y-pass', 'postgresql://app@h/db?sslmode=require&sslpassword=***', ['k3y-pass']],
    ['postgres://app:s3cret%40x@db.example:6543/shop', 'postgres://app:***@db.example:6543/shop', ['s3cret%40x', 's3cret@x']],
    ['postgres:///shop?host=/var/run/postgresql', 'postgres:///shop?host=/var/run/postgresql', []],
    ['mysql://root:S3cr3t-pw@127.0.0.1:3306/test', 'mysql://root:***@127.0.0.1:3306/test', ['S3cr3t-pw']],
    ['mariadb://root@127.0.0.1/test?password=S3cr3t-pw', 'mariadb://root@127.0.0.1/test?password=***', ['S3cr3t-pw']],
    ['sqlite:///var/lib/app/db.sqlite3', 'sqlite:/var/lib/app/db.sqlite3', []],
    ['sqlite:var/db.sqlite3', 'sqlite:/srv/app/var/db.sqlite3', []],
  ]
  for (const [url, safe, secrets] of good) {
    it(`reads ${url}`, () => {
      const parsed = parseDatabaseUrl(url, '/srv/app')
      expect(parsed.safe).to.equal(safe)
      expect(parsed.secrets).to.have.members(secrets)
      for (const secret of secrets) expect(configFromUrl(url, '/srv/app').description).not.to.include(secret)
    })
  }

  // [url, the problem the one line names]
  const bad: Array<[string, RegExp]> = [
    ['postgres://app:pa#ss@db.example/shop', /^DATABASE_URL is not a valid postgres URL: an '@', '#', '\?' or '\/' before its last '@' makes it ambiguous where the password ends: use postgres:\/\/.*@ → %40.*\? → %3F, # → %23/],
    ['postgres://app:pa?ss@db.example/shop', /ambiguous where the password ends/],
    ['postgres://app:pa/ss@db.example/shop', /ambiguous where the password ends/],
    // An '@' then a '#': the WHATWG parser reads host 'ss' and keeps 'word99@…' as the fragment.
    ['postgres://app:p@ss#word99@127.0.0.1:5432/test', /ambiguous where the password ends/],
    ['postgres://app:Pass@word@db.example/shop', /ambiguous where the password ends/],
    ['mysql://u:a@b@host/db', /^DATABASE_URL is not a valid mysql URL: .*ambiguous where the password ends/],
    ['postgres://u:p#w@host/db', /ambiguous where the password ends/],
    ['postgres://u:p?w@host/db', /ambiguous where the password ends/],
    ['postgres://u:p/w@host/db', /ambiguous where the password ends/],
    // A numeric head before the '/' parses as a port: '123' would be shown as one.
    ['postgres://u:123/w@host/db', /ambiguous where the password ends/],
    ['mysql://root@127.0.0.1/test?password=pw#tail', /a '#' in it starts a fragment/],
    ['postgres://ho st/db', /it cannot be parsed \(check the host and the port\)/],
    ['mysql://root:pw@127.0.0.1:99999/test', /^DATABASE_URL is not a valid mysql URL: the port 99999 is out of range \(1–65535\)/],
    ['postgres://app:p%ZZw@db.example/shop', /the password has a '%' that is not followed by two hexadecimal digits/],
    ['postgres://app%ZZ:pw@db.example/shop', /the user has a '%' that is not followed by two hexadecimal digits/],
    ['postgres:app@db.example/shop', /it has no '\/\/' after 'postgres:'/],
    ['ftp://user:pw@host/x', /^DATABASE_URL has the unknown scheme 'ftp:'/],
    ['user:pw@host/x', /^DATABASE_URL has the unknown scheme 'user:'/],
    ['no scheme at all', /^DATABASE_URL has no scheme/],
    ['sqlite:', /^DATABASE_URL names no sqlite file/],
    ['sqlite:///tmp/%ZZ.db', /'%' that is not followed by two hexadecimal digits/],
  ]
  for (const [url, problem] of bad) {
    it(`refuses ${url} with one line, exit 2, and nothing of the URL in it`, () => {
      let error: unknown
      try {
        configFromUrl(url, '/srv/app')
      } catch (caught) {
        error = caught
      }
      expect(error).to.be.instanceOf(UsageError)
      const {message, exitCode} = error as UsageError
      expect(exitCode).to.equal(2)
      expect(message).to.match(problem)
      expect(message).not.to.include('\n')
      expect(message).to.match(/: use (sqlite|postgres|mysql):\/\//)
      for (const part of ['pw', 'pa#ss', 'pa?ss', 'pa/ss', 'p%ZZw', 'app%ZZ', 'p@ss', 'ss#w', 'word99', '127.0.0.1', 'a@b', 'p#w', 'p?w', 'p/w', '123', 'tail', 'db.example', 'ho st']) {
        if (url.includes(part) && !/^(ftp|user)/.test(url)) expect(message).not.to.include(part)
      }
    })
  }

  it("refuses a knexfile's ambiguous connection string the same way, naming the knexfile's entry", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-knexfile-'))
    try {
      const knexfile = path.join(dir, 'knexfile.cjs')
      fs.writeFileSync(knexfile, `module.exports = {production: {client: 'pg', connection: 'postgres://app:Qz@Xk#Vj99@127.0.0.1:5432/test'}, staging: {client: 'mysql2', connection: {connectionString: 'mysql://u:Qz/Xk@127.0.0.1/test'}}}`)
      for (const [environment, dialect] of [['production', 'postgres'], ['staging', 'mysql']]) {
        expect(() => resolveDatabaseConfig({MANAGE_ENV: environment}, knexfile, dir))
          .to.throw(UsageError, new RegExp(`^the knexfile's '${environment}' connection is not a valid ${dialect} URL: .*ambiguous where the password ends: use ${dialect}://`))
          .and.satisfy((error: Error) => !/Qz|Xk|Vj99/.test(error.message))
      }
    } finally {
      fs.rmSync(dir, {recursive: true, force: true})
    }
  })

  it('scrubs each secret, as written and decoded, from any text', () => {
    expect(scrubSecrets('login app:Pass@word failed (Pass%40word)', ['Pass%40word', 'Pass@word'])).to.equal('login app:*** failed (***)')
    expect(scrubSecrets('nothing to hide', [])).to.equal('nothing to hide')
  })
})

describe('no command prints the database password, whatever the URL form', function () {
  this.timeout(60_000)
  const secret = 'S3cr3t-pw'
  const urls = [
    `postgres://app@127.0.0.1:1/db?password=${secret}`,
    `postgres://app:${secret}@127.0.0.1:1/db`,
    `postgres://app:${secret}@x@127.0.0.1:1/db`,
    `mysql://root:${secret}@127.0.0.1:1/test`,
    `mysql://root@127.0.0.1:1/test?password=${secret}`,
    `postgres://app:${secret}#x@127.0.0.1:1/db`,
    `postgres://app:${secret}@127.0.0.1:99999/db`,
  ]
  const commands = [['about'], ['check'], ['runcrons'], ['runcrons', '--traceback'], ['crons:list', '--json'], ['crons:history', '--json'], ['crontab'], ['showmigrations']]
  for (const url of urls) {
    it(url.replace(secret, '<secret>'), async () => {
      const results = await Promise.all(commands.map((args) => callManage(args, {DATABASE_URL: url, MANAGE_SETTINGS: SETTINGS, TEST_CRONS: 'SuccessJob', DEBUG: args.includes('--traceback') ? '1' : undefined})))
      for (const [i, result] of results.entries()) {
        const shown = `${result.stdout}${result.stderr}`
        expect(shown, `manage ${commands[i].join(' ')}`).not.to.include(secret)
        expect(shown, `manage ${commands[i].join(' ')}`).not.to.include('S3cr3t')
      }
      const runcrons = results[2]
      const malformed = /#x@|@x@|99999/.test(url)
      expect(runcrons.code, runcrons.stderr).to.equal(malformed ? 2 : 1)
      expect(runcrons.stderr).to.match(malformed ? /^error: DATABASE_URL is not a valid (postgres|mysql) URL: .*percent-encode/ : /^error: cannot connect to the (postgres|mysql) database .*\*\*\*.*\(ECONNREFUSED\)/)
    })
  }
})

describe('an ambiguous DATABASE_URL is refused in one line by every command, with no fragment of its password', function () {
  this.timeout(60_000)
  /** Every 3-character piece of a password: none may be shown. */
  const pieces = (password: string) => Array.from({length: password.length - 2}, (_, i) => password.slice(i, i + 3))
  // [url, its password as a person reads it]; the passwords' letters appear in no message.
  const urls: Array<[string, string]> = [
    ['postgres://app:Qz@Xk#Vj99@127.0.0.1:5432/test', 'Qz@Xk#Vj99'],
    ['mysql://u:Qz@Xk@127.0.0.1:3306/test', 'Qz@Xk'],
    ['postgres://u:Qz#Xk@127.0.0.1:5432/test', 'Qz#Xk'],
    ['postgres://u:Qz?Xk@127.0.0.1:5432/test', 'Qz?Xk'],
    ['postgres://u:Qz/Xk@127.0.0.1:5432/test', 'Qz/Xk'],
    ['postgres://u:8642/Xk@127.0.0.1:5432/test', '8642/Xk'],
  ]
  const commands = [['about'], ['check'], ['runcrons']]
  for (const [url, password] of urls) {
    it(url, async () => {
      const results = await Promise.all(commands.map((args) => callManage(args, {DATABASE_URL: url, MANAGE_SETTINGS: SETTINGS, TEST_CRONS: 'SuccessJob'})))
      for (const [i, result] of results.entries()) {
        const what = `manage ${commands[i].join(' ')}: exit ${result.code}\n${result.stdout}${result.stderr}`
        expect(result.code, what).to.equal(2)
        expect(result.stdout, what).to.equal('')
        expect(result.stderr, what).to.match(/^error: DATABASE_URL is not a valid (postgres|mysql) URL: [^\n]*ambiguous where the password ends[^\n]*% → %25\)\n$/)
        for (const piece of pieces(password)) expect(`${result.stdout}${result.stderr}`, what).not.to.include(piece)
      }
    })
  }

  it('the URL of the report (postgres://app:p@ss#word99@…): nothing of the host part read from the password', async () => {
    const results = await Promise.all(commands.map((args) => callManage(args, {DATABASE_URL: 'postgres://app:p@ss#word99@127.0.0.1:5432/test', MANAGE_SETTINGS: SETTINGS, TEST_CRONS: 'SuccessJob'})))
    for (const result of results) {
      expect(result.code, result.stderr).to.equal(2)
      expect(result.stderr.split('\n')).to.have.length(2) // one line and its newline
      for (const piece of ['p@ss', '@ss', 'ss#', 's#w', '#wo', 'word99', 'rd9', 'd99', '127.0.0.1']) expect(`${result.stdout}${result.stderr}`).not.to.include(piece)
    }
  })
})
