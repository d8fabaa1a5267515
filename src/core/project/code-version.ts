import {readFileSync, statSync} from 'node:fs'
import path from 'node:path'

/** cron_job_log.code_version's width: a longer MANAGE_VERSION is cut to it. */
export const CODE_VERSION_MAX = 255

/** The commit as a version shows it: git's default short form. */
const SHORT_COMMIT = 7

/**
 * The version of the app's code, as each run records it (cron_job_log.code_version): MANAGE_VERSION
 * when set (a deploy names its release, say where there is no .git); else the project's
 * package.json version plus its git commit when known, as semver build metadata (`1.4.2+3f9c2ab`;
 * the commit alone when package.json has no version); null when neither is known. The commit is
 * read from the files (`.git/HEAD`, the ref it names, or packed-refs), in the project's folder or
 * the nearest above it holding `.git` (a monorepo): no git process. Never throws: a file that
 * cannot be read is a version unknown.
 */
export function codeVersion(root: string, env: NodeJS.ProcessEnv): string | null {
  // One line, as it is printed in tables and alerts.
  const given = env.MANAGE_VERSION?.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  if (given) return given.slice(0, CODE_VERSION_MAX)
  const version = packageVersion(root)
  const commit = gitCommit(root)?.slice(0, SHORT_COMMIT) ?? null
  if (version === null || commit === null) return version ?? commit
  // A version with build metadata already (1.4.2+build.5) takes the commit as one more identifier.
  return `${version}${version.includes('+') ? '.' : '+'}${commit}`
}

function packageVersion(root: string): string | null {
  const text = readText(path.join(root, 'package.json'))
  if (text === null) return null
  try {
    const version = (JSON.parse(text) as {version?: unknown}).version
    return typeof version === 'string' && version.trim() !== '' ? version.trim() : null
  } catch {
    return null
  }
}

/** The commit HEAD points at (its full hash), or null: no repository, a branch with no commit yet, a file that cannot be read. */
export function gitCommit(root: string): string | null {
  const git = gitDirs(root)
  if (git === null) return null
  const head = readText(path.join(git.dir, 'HEAD'))?.trim()
  if (!head) return null
  if (!head.startsWith('ref:')) return isHash(head) ? head : null
  const ref = head.slice('ref:'.length).trim()
  const loose = readText(path.join(git.common, ref))?.trim()
  if (loose) return isHash(loose) ? loose : null
  for (const line of (readText(path.join(git.common, 'packed-refs')) ?? '').split('\n')) {
    // "<hash> <ref>"; comments start with '#', a peeled tag's line with '^'.
    const [hash, name] = line.trim().split(' ')
    if (name === ref && isHash(hash)) return hash
  }
  return null
}

/**
 * The repository's folders: `dir` holds HEAD, `common` the refs. A worktree's or a submodule's
 * `.git` is a file naming its folder (`gitdir: …`), whose `commondir` names the shared one.
 */
function gitDirs(root: string): {dir: string; common: string} | null {
  for (let folder = path.resolve(root); ; folder = path.dirname(folder)) {
    const dotGit = path.join(folder, '.git')
    const kind = statKind(dotGit)
    if (kind === 'dir') return {dir: dotGit, common: dotGit}
    if (kind === 'file') {
      const named = /^gitdir:\s*(.+)$/m.exec(readText(dotGit) ?? '')
      if (!named) return null
      const dir = path.resolve(folder, named[1].trim())
      const common = readText(path.join(dir, 'commondir'))?.trim()
      return {dir, common: common ? path.resolve(dir, common) : dir}
    }
    if (path.dirname(folder) === folder) return null
  }
}

function isHash(text: string | undefined): text is string {
  return text !== undefined && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(text)
}

function statKind(file: string): 'dir' | 'file' | null {
  try {
    const stat = statSync(file)
    return stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : null
  } catch {
    return null
  }
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return null
  }
}
