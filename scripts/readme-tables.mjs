// Prints the README's inputs and outputs tables, generated from action.yml (which scripts/action-yml.mjs generates
// from src/config/from-raw.ts), so the README cannot drift from the Action's metadata.
//
//   node scripts/readme-tables.mjs           print both tables
//   node scripts/readme-tables.mjs --write   replace them in README.md between the <!-- inputs:start/end --> and
//                                            <!-- outputs:start/end --> markers
//   node scripts/readme-tables.mjs --check   fail when README.md's tables differ from action.yml
//
// test/unit/readme-examples.test.ts runs the --check comparison as part of the unit tests.
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Text for one Markdown table cell: one line, pipes escaped. */
function cell(text) {
  return String(text).replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|')
}

function code(text) {
  return `\`${String(text).replace(/\|/g, '\\|')}\``
}

/**
 * The README groups the inputs by purpose, in this order. An input of action.yml that no group names lands in "Other",
 * so a new input always shows up (and a reviewer sees where to file it); a name here that action.yml lacks is skipped.
 */
export const INPUT_GROUPS = [
  [
    'What to release and where',
    ['mode', 'namespace', 'deployment', 'workloads', 'plan', 'containers', 'kubeconfig', 'kube-context']
  ],
  [
    'Image, build and registry',
    [
      'image',
      'tags',
      'build',
      'context',
      'file',
      'build-args',
      'labels',
      'target',
      'platforms',
      'cache-from',
      'cache-to',
      'secrets',
      'push',
      'registry',
      'registry-username',
      'registry-password',
      'registry-ca',
      'insecure-registry'
    ]
  ],
  [
    'Judging the release',
    [
      'timeout',
      'soak',
      'max-restarts',
      'image-pull-grace',
      'unschedulable-grace',
      'error-pattern',
      'ignore-pattern',
      'max-error-lines',
      'max-error-rate',
      'baseline',
      'baseline-window',
      'baseline-factor',
      'log-containers'
    ]
  ],
  [
    'Safety: rollback, lock, dependencies, canary',
    [
      'rollback',
      'dry-run',
      'lock-timeout',
      'dependencies',
      'on-dependency-down',
      'dependency-timeout',
      'dependency-failure-limit',
      'canary',
      'canary-duration',
      'canary-error-factor'
    ]
  ],
  ['Metric gates (Prometheus)', ['metric-gates', 'prometheus-url', 'prometheus-authorization']],
  [
    'Reporting: GitHub and chat',
    [
      'github-token',
      'environment',
      'environment-url',
      'pr-comment',
      'notify-dingtalk-webhook',
      'notify-dingtalk-secret',
      'notify-slack-webhook',
      'notify-webhook-url'
    ]
  ]
]

/** @param {{ inputs: Record<string, any>, outputs: Record<string, any> }} action */
export function renderTables(action) {
  const all = action.inputs ?? {}
  const grouped = new Set(INPUT_GROUPS.flatMap(([, names]) => names))
  const groups = [...INPUT_GROUPS, ['Other', Object.keys(all).filter((name) => !grouped.has(name))]]
  const inputs = groups
    .map(([title, names]) => [title, names.filter((name) => name in all)])
    .filter(([, names]) => names.length > 0)
    .map(([title, names]) =>
      [
        `#### ${title}`,
        '',
        '| Input | Required | Default | Description |',
        '| --- | --- | --- | --- |',
        ...names.map((name) => {
          const input = all[name]
          const required = input.required === true ? '**yes**' : 'no'
          const def = input.default === undefined || input.default === '' ? '' : code(input.default)
          return `| ${code(name)} | ${required} | ${def} | ${cell(input.description ?? '')} |`
        })
      ].join('\n')
    )
    .join('\n\n')
  const outputs = [
    '| Output | Description |',
    '| --- | --- |',
    ...Object.entries(action.outputs ?? {}).map(
      ([name, output]) => `| ${code(name)} | ${cell(output.description ?? '')} |`
    )
  ].join('\n')
  return { inputs, outputs }
}

export async function tablesFromActionYml(file = join(root, 'action.yml')) {
  return renderTables(parse(await readFile(file, 'utf8')))
}

/** README text with the tables between their markers replaced; throws when a marker is missing. */
export function replaceTables(readme, tables) {
  let text = readme
  for (const [name, table] of Object.entries(tables)) {
    const start = `<!-- ${name}:start -->`
    const end = `<!-- ${name}:end -->`
    const from = text.indexOf(start)
    const to = text.indexOf(end)
    if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} section`)
    text = `${text.slice(0, from + start.length)}\n${table}\n${text.slice(to)}`
  }
  return text
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tables = await tablesFromActionYml()
  const mode = process.argv[2]
  if (mode === '--write' || mode === '--check') {
    const file = join(root, 'README.md')
    const readme = await readFile(file, 'utf8')
    const wanted = replaceTables(readme, tables)
    if (mode === '--write') {
      if (wanted !== readme) await writeFile(file, wanted)
    } else if (wanted !== readme) {
      console.error(
        'README.md inputs/outputs tables differ from action.yml: run `node scripts/readme-tables.mjs --write`'
      )
      process.exit(1)
    } else {
      console.log('README.md tables match action.yml')
    }
  } else {
    process.stdout.write(`${tables.inputs}\n\n${tables.outputs}\n`)
  }
}
