import {expect} from 'chai'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {codeVersion} from '../../src/core/project/code-version'

const COMMIT = '3f9c2ab1d4e5f60718293a4b5c6d7e8f90a1b2c3'
const OTHER = 'aa11bb22cc33dd44ee55ff6677889900aabbccdd'

describe("codeVersion: the version of the app's code each run records", () => {
  let root: string
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'manage-version-'))
  })
  afterEach(() => rmSync(root, {recursive: true, force: true}))
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, file)), {recursive: true})
    writeFileSync(path.join(root, file), text)
  }

  it('MANAGE_VERSION when set (trimmed, one line), whatever package.json and .git say', () => {
    write('package.json', '{"version": "1.4.2"}')
    write('.git/HEAD', `${COMMIT}\n`)
    expect(codeVersion(root, {MANAGE_VERSION: ' release-2026-12-04\n'})).to.equal('release-2026-12-04')
    expect(codeVersion(root, {MANAGE_VERSION: '  '})).to.equal(`1.4.2+3f9c2ab`)
  })

  it("package.json's version plus the commit HEAD's branch names (loose ref), else from packed-refs", () => {
    write('package.json', '{"name": "app", "version": "1.4.2"}')
    write('.git/HEAD', 'ref: refs/heads/main\n')
    write('.git/packed-refs', `# pack-refs with: peeled fully-peeled sorted\n${OTHER} refs/heads/old\n${COMMIT} refs/heads/main\n^${OTHER}\n`)
    expect(codeVersion(root, {})).to.equal('1.4.2+3f9c2ab')
    write('.git/refs/heads/main', `${OTHER}\n`)
    expect(codeVersion(root, {})).to.equal('1.4.2+aa11bb2')
  })

  it('a detached HEAD (a deploy that checked out a commit); a project in a subfolder of the repository', () => {
    write('.git/HEAD', `${COMMIT}\n`)
    write('apps/api/package.json', '{"version": "2.0.0+build.7"}')
    // The repository's root has no package.json: the commit alone.
    expect(codeVersion(root, {})).to.equal('3f9c2ab')
    expect(codeVersion(path.join(root, 'apps', 'api'), {})).to.equal('2.0.0+build.7.3f9c2ab')
  })

  it('a worktree: .git is a file naming its folder, whose commondir holds the refs', () => {
    write('package.json', '{"version": "1.0.0"}')
    write('main/.git/worktrees/wt/HEAD', 'ref: refs/heads/feature\n')
    write('main/.git/worktrees/wt/commondir', '../..\n')
    write('main/.git/refs/heads/feature', `${COMMIT}\n`)
    write('.git', `gitdir: ${path.join(root, 'main/.git/worktrees/wt')}\n`)
    expect(codeVersion(root, {})).to.equal('1.0.0+3f9c2ab')
  })

  it('the version alone without a repository, the commit alone without a version, null when neither is known (or unreadable)', () => {
    write('package.json', '{"version": "1.4.2"}')
    expect(codeVersion(root, {})).to.equal('1.4.2')
    write('package.json', '{"name": "no-version"}')
    expect(codeVersion(root, {})).to.equal(null)
    write('package.json', '{not json')
    write('.git/HEAD', 'ref: refs/heads/main\n')
    // A branch with no commit yet.
    expect(codeVersion(root, {})).to.equal(null)
    write('.git/refs/heads/main', `${COMMIT}\n`)
    expect(codeVersion(root, {})).to.equal('3f9c2ab')
  })
})
