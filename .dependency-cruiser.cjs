// The layers of src/ (README, "Layout"), checked by `npm run lint:layers`, the first step of
// `npm test`. A folder imports only from the folders listed before it in LAYERS, with one exception:
// `import type` of the job-facing contract (src/core/contract) is allowed from anywhere. No file imports itself through others (type-only imports count), and no
// folder does: with strict layers two folders cannot import each other, so a cycle of folders is
// impossible, but the rule says so all the same (and catches one if LAYERS is ever loosened).

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
  ['core/runners', '^src/core/runners/'],
  ['core/operate', '^src/core/operate/'],
  ['dashboard', '^src/dashboard/'],
  ['cli/output', '^src/cli/output/'],
  ['cli/runcrons', '^src/cli/runcrons/'],
  ['cli/tools', '^src/cli/tools/'],
  ['cli', '^src/cli/[^/]+$'],
  ['testing', '^src/testing/'],
  ['crons', '^src/crons/'],
  ['entry files', '^src/[^/]+$'],
  ['commands', '^src/commands/'],
]

/** What any layer may import with `import type`, wherever it sits: what a job sees. */
const CONTRACT = ['^src/core/contract/']

/** Per layer: nothing from the layers above it, but the contract's types. */
const layerRules = LAYERS.flatMap(([name, files], i) => {
  const above = LAYERS.slice(i + 1).map(([, path]) => path)
  const notAbove = LAYERS.slice(0, i + 1).map(([, path]) => path)
  if (above.length === 0) return []
  return [
    {
      name: `layer ${name}`,
      comment: `${name} imports only from the layers listed before it (README, Layout; LAYERS in .dependency-cruiser.cjs).`,
      severity: 'error',
      from: {path: files},
      to: {path: above, pathNot: CONTRACT},
    },
    {
      name: `layer ${name} (contract types)`,
      comment: `${name} may import the job-facing contract above it with \`import type\` only.`,
      severity: 'error',
      from: {path: files},
      to: {path: CONTRACT, pathNot: notAbove, dependencyTypesNot: ['type-only']},
    },
  ]
})

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'No file imports itself through others (type-only imports included).',
      severity: 'error',
      from: {path: '^src/'},
      to: {circular: true},
    },
    {
      name: 'no-circular-folders',
      comment: 'No folder imports itself through others.',
      severity: 'error',
      scope: 'folder',
      from: {path: '^src/'},
      to: {circular: true},
    },
    {
      name: 'in-a-layer',
      comment: 'Every file of src/ is in a layer: a new folder goes into LAYERS (.dependency-cruiser.cjs) and the README.',
      severity: 'error',
      from: {path: '^src/', pathNot: LAYERS.map(([, path]) => path)},
      to: {},
    },
  ],
  options: {
    includeOnly: '^src/',
    // Type-only imports are part of the graph (the contract's exception is decided per import).
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.build.json'},
  },
}
