import {spawn, spawnSync, type SpawnSyncReturns} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {load} from 'js-yaml'

/**
 * The README's container recipes ("In a container"), tried without a Docker daemon (none runs on
 * this machine): the Dockerfile's stages carried out as written, each RUN in its own copy of the
 * app (`COPY . .`, `COPY --from=build`), then its CMD started as the container would start it (its
 * ENV, its WORKDIR, DATABASE_URL given at run time), its HEALTHCHECK run until healthy, the README's
 * migrate command, and `docker stop`'s SIGTERM. The Kubernetes manifest is parsed and held to what
 * the scheduler needs (the same command as the image's, a probe on every interface, a grace period
 * above graceSeconds). `npm run test:e2e`; .ci/run runs it.
 */
const ROOT = path.resolve(__dirname, '..')
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
const SECTION = README.slice(README.indexOf('### In a container'), README.indexOf('### How it compares'))

function block(lang: string): string {
  const found = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(SECTION)
  expect(found, `the README's "In a container" has a ${lang} block`).to.not.equal(null)
  return found![1]
}

interface Instruction {
  op: string
  arg: string
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(dockerfile: string): Instruction[] {
  return dockerfile
    .replace(/\s*\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const op = line.split(/\s+/)[0]
      return {op: op.toUpperCase(), arg: line.slice(op.length).trim()}
    })
}

function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(MANAGE_|DATABASE_URL$|TEST_|NODE_ENV$|npm_)/.test(key)) env[key] = value
  }
  return {...env, NO_COLOR: '1', ...extra}
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  expect(result.status, `${what} (exit ${result.status})\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`).to.equal(0)
  return result.stdout
}

function sh(command: string, cwd: string, extra: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync('/bin/sh', ['-c', command], {cwd, encoding: 'utf8', env: userEnv(extra), timeout: 240_000})
}

/** A RUN line as this machine can run it: apt-get is the image's business (the tools are here), npm works from its cache. */
function runnable(command: string): string {
  return command
    .split('&&')
    .map((part) => part.trim())
    .filter((part) => !/^(apt-get|rm -rf \/var\/lib\/apt)/.test(part))
    .map((part) => (part === 'npm ci' ? 'npm ci --prefer-offline --ignore-scripts --no-audit --no-fund' : part))
    .join(' && ')
}

describe("the README's container recipes, carried out without Docker", function () {
  this.timeout(600_000)
  let work: string
  const steps = instructions(block('dockerfile'))
  const stages = steps.filter((step) => step.op === 'FROM')

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-container-'))
  })
  after(() => fs.rmSync(work, {recursive: true, force: true}))

  it('the Dockerfile: two stages on Node 20, the scheduler as the process itself, a health check in node', () => {
    expect(stages.map((stage) => stage.arg)).to.deep.equal(['node:20-bookworm-slim AS build', 'node:20-bookworm-slim'])
    const cmd = JSON.parse(steps.find((step) => step.op === 'CMD')!.arg) as string[]
    // Exec form, node first: SIGTERM goes to the scheduler, not to npm or a shell that would not pass it on.
    expect(cmd.slice(0, 3)).to.deep.equal(['node', 'node_modules/manage-cli/bin/manage', 'scheduler'])
    expect(steps.find((step) => step.op === 'HEALTHCHECK')!.arg).to.match(/^--interval=\S+ --timeout=\S+ --start-period=\S+ CMD \[/)
  })

  it('the Kubernetes Deployment: the image\'s command with the probe on every interface, migrations first, a grace period above graceSeconds', () => {
    const deployment = load(block('yaml')) as any
    expect(deployment.kind).to.equal('Deployment')
    const pod = deployment.spec.template.spec
    expect(deployment.spec.selector.matchLabels).to.deep.equal(deployment.spec.template.metadata.labels)
    const image = JSON.parse(steps.find((step) => step.op === 'CMD')!.arg) as string[]
    const scheduler = pod.containers[0]
    expect(scheduler.command).to.include.members(image).and.include.members(['--health-host', '0.0.0.0'])
    const port = scheduler.command[scheduler.command.indexOf('--health-port') + 1]
    expect(scheduler.ports[0].containerPort).to.equal(Number(port))
    expect(scheduler.livenessProbe.httpGet).to.deep.equal({path: '/healthz', port: scheduler.ports[0].name})
    expect(pod.initContainers[0].command).to.deep.equal([...image.slice(0, 2), 'migrate'])
    // graceSeconds defaults to 10 (settings): the kubelet's SIGKILL must come after the drain.
    expect(pod.terminationGracePeriodSeconds).to.be.greaterThan(10)
  })

  it('built as its stages say, it migrates, runs the job, answers its health check and drains on SIGTERM', async () => {
    // The app: a plain JavaScript one with manage installed from the packed clone, as "Add manage to your app" does.
    const app = path.join(work, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), `${JSON.stringify({name: 'container-app', version: '1.4.2', private: true}, null, 2)}\n`)
    const tgz = ok(sh(`npm pack ${ROOT}`, app), 'npm pack').trim().split('\n').at(-1)!
    ok(sh(`npm install ./${tgz} --prefer-offline --ignore-scripts --no-audit --no-fund`, app), 'npm install')
    ok(sh('node_modules/.bin/manage init', app), 'manage init')

    // Each stage in its own folder: /app of the build stage, then /app of the runtime one.
    const dirs = [path.join(work, 'build', 'app'), path.join(work, 'runtime', 'app')]
    let stage = -1
    let env: Record<string, string> = {}
    let cmd: string[] = []
    let health: string[] = []
    for (const step of steps) {
      const dir = dirs[stage]
      if (step.op === 'FROM') {
        stage++
        fs.mkdirSync(dirs[stage], {recursive: true})
      } else if (step.op === 'COPY' && step.arg.startsWith('--from=build')) {
        fs.cpSync(dirs[0], dir, {recursive: true, verbatimSymlinks: true})
      } else if (step.op === 'COPY') {
        // `COPY . .`, less what the README's .dockerignore leaves out.
        expect(step.arg).to.equal('. .')
        fs.cpSync(app, dir, {recursive: true, filter: (source) => !/[/\\](node_modules|var)$/.test(source)})
      } else if (step.op === 'RUN') {
        ok(sh(runnable(step.arg), dir), step.arg)
        // sqlite3's native build is the one this checkout compiled (same version), not a download.
        if (step.arg.startsWith('npm ci')) fs.cpSync(path.join(ROOT, 'node_modules', 'sqlite3', 'build'), path.join(dir, 'node_modules', 'sqlite3', 'build'), {recursive: true})
      } else if (step.op === 'ENV') {
        const at = step.arg.indexOf('=')
        env[step.arg.slice(0, at)] = step.arg.slice(at + 1)
      } else if (step.op === 'CMD') {
        cmd = JSON.parse(step.arg) as string[]
      } else if (step.op === 'HEALTHCHECK') {
        health = JSON.parse(step.arg.slice(step.arg.indexOf('CMD ') + 4)) as string[]
      } else {
        expect(['WORKDIR', 'USER'], `an instruction this test does not carry out: ${step.op}`).to.include(step.op)
      }
    }
    const runtime = dirs[1]
    // npm prune --omit=dev left the framework and its drivers, nothing to compile with.
    expect(fs.existsSync(path.join(runtime, 'node_modules', 'manage-cli', 'bin', 'manage'))).to.equal(true)
    expect(env.NODE_ENV).to.equal('production')
    env = {...env, DATABASE_URL: `sqlite://${path.join(work, 'data.sqlite3')}`}

    // The README's migrate command, as `docker run … my-app <command>` runs it in the image.
    const migrate = /docker run --rm -e DATABASE_URL=… my-app (node [^`]+ migrate)`/.exec(SECTION)
    expect(migrate, 'the README says how to migrate in the image').to.not.equal(null)
    ok(sh(migrate![1], runtime, env), 'migrate')

    const child = spawn(cmd[0], cmd.slice(1), {cwd: runtime, env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    try {
      // Docker runs the HEALTHCHECK every interval; here, until it passes (the start period is 20 s).
      const deadline = Date.now() + 20_000
      let healthy = false
      while (!healthy && Date.now() < deadline) {
        healthy = spawnSync(health[0], health.slice(1), {cwd: runtime, env: userEnv(env), timeout: 3000}).status === 0
        if (!healthy) await new Promise((resolve) => setTimeout(resolve, 200))
      }
      expect(healthy, `the HEALTHCHECK passed within 20 s\n${out}`).to.equal(true)
      // The example job (`manage init`'s) ran once, under the app's version.
      const until = Date.now() + 20_000
      let runs: Array<{code: string; status: string; version: string | null}> = []
      while (runs.length === 0 && Date.now() < until) {
        runs = JSON.parse(ok(sh('node node_modules/manage-cli/bin/manage crons:history --json', runtime, env), 'crons:history')) as typeof runs
        if (runs.length === 0) await new Promise((resolve) => setTimeout(resolve, 200))
      }
      expect(runs.map((run) => [run.code, run.status])).to.deep.equal([['app.example', 'succeeded']])
      expect(runs[0].version).to.match(/^1\.4\.2/)
    } finally {
      // `docker stop`: SIGTERM, then SIGKILL after the stop timeout.
      child.kill('SIGTERM')
    }
    expect(await exited, out).to.equal(0)
  })
})
