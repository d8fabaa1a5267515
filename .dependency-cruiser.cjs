// The layers of src/ (README, "Layout"), lowest first: a folder imports only from the folders listed
// before it. The one exception: type-only imports of the job-facing contract (src/core/contract, and
// src/index.ts for ProjectSettings) are allowed from anywhere. Checked by `npm run lint:layers`,
// the first step of `npm test`. With strict layers no two folders can import each other, so no cycle
// of folders can form; the folder-cycle rule below says so all the same, and files may not import
// in a circle either (type-only imports included).

/** [name, the files of the layer (a regular expression on the path)], lowest first. */
const LAYERS = [
  ['core/base', '^src/core/base/'],
  ['core/time', '^src/core/time/'],
  ['core/db', '^src/core/db/'],
  ['core/contract', '^src/core/contract/'],
  ['core/alerts', '^src/core/alerts/'],
  ['core/jobs', '^src/core/jobs/'],
  ['core/schedule', '^src/core/schedule/'],
  ['core/run-log', '^src/core/run-log/'],
  ['core/project', '^src/core/project/'],
  ['core/notify', '^src/core/notify/'],
  ['core/tick', '^src/core/tick/'],
  ['core/operate', '^src/core/operate/'],
  ['dashboard', '^src/dashboard/'],
  ['cli/output', '^src/cli/output/'],
  ['cli/runcrons', '^src/cli/runcrons/'],
  ['cli/tools', '^src/cli/tools/'],
  ['cli', '^src/cli/[^/]+$'],
  ['testing', '^src/testing/'],
  ['crons', '^src/crons/'],
  ['commands', '^src/commands/'],
  ['entry files', '^src/(index|command|testing|settings)\\.ts$'],
]

/** What any layer may import as types only: what a job sees. */
const CONTRACT = ['^src/core/contract/', '^src/index\\.ts$']

const layerRules = LAYERS.slice(0, -1).map(([name, files], i) => {
  const above = LAYERS.slice(i + 1).map(([, path]) => path)
  return [
    {
      name: `layer ${name}`,
      comment: `${name} imports only from the layers below it (README, Layout); these are above it.`,
      severity: 'error',
      from: {path: files},
      to: {path: above, pathNot: CONTRACT},
    },
    {
      name: `layer ${name} (contract)`,
      comment: `${name} may import the job-facing contract above it with \`import type\` only.`,
      severity: 'error',
      from: {path: files},
      to: {path: above.filter((path) => CONTRACT.includes(path) || path === '^src/core/contract/'), dependencyTypesNot: ['type-only']},
    },
  ]
})

module.exports = {
  forbidden: [
    ...layerRules.flat().filter((rule) => rule.to.path.length > 0),
    {
      name: 'no-circular',
      comment: 'No file imports itself through others (type-only imports included).',
      severity: 'error',
      from: {path: '^src/'},
      to: {circular: true},
    },
    {
      name: 'no-circular-folders',
      comment: 'No folder imports itself through others (impossible with strict layers; said all the same).',
      severity: 'error',
      scope: 'folder',
      from: {path: '^src/'},
      to: {circular: true},
    },
    {
      name: 'not-in-a-layer',
      comment: 'Every file of src/ belongs to a layer: a new folder is added to LAYERS in .dependency-cruiser.cjs and to the README.',
      severity: 'error',
      from: {path: '^src/', pathNot: LAYERS.map(([, path]) => path)},
      to: {},
    },
  ],
  options: {
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.build.json'},
    reporterOptions: {text: {highlightFocused: true}},
  },
}
