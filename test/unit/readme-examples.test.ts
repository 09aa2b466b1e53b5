// The README's whole-workflow examples are files in examples/ (which actionlint checks), word for word; every example
// is linked from the README and uses only inputs that action.yml declares; the README's inputs and outputs tables are the ones action.yml generates.
import { describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'

const ROOT = resolve(import.meta.dirname, '../..')
const ACTION = 'acme/rollout-guard'

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown> }
const inputNames = new Set(Object.keys(action.inputs))
const exampleFiles = readdirSync(join(ROOT, 'examples'))
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
const examples = new Map(exampleFiles.map((f) => [f, readFileSync(join(ROOT, 'examples', f), 'utf8').trim()]))

/** The body of every ```yaml fenced block in `markdown`. */
function yamlBlocks(markdown: string): string[] {
  const blocks: string[] = []
  const fence = /^```ya?ml[^\n]*\n([\s\S]*?)^```[ \t]*$/gm
  for (const match of markdown.matchAll(fence)) blocks.push(match[1] ?? '')
  return blocks
}

interface Step {
  uses?: string
  with?: Record<string, unknown>
}

interface Job {
  permissions?: Record<string, string> | string
  steps?: Step[]
}

interface Workflow {
  jobs?: Record<string, Job>
}

function isRolloutGuard(step: Step): boolean {
  return typeof step.uses === 'string' && step.uses.startsWith(`${ACTION}@`)
}

/** [job name, job, rollout-guard step] for every rollout-guard step of a workflow. */
function rolloutGuardSteps(workflow: Workflow): [string, Job, Step][] {
  return Object.entries(workflow.jobs ?? {}).flatMap(([name, job]) =>
    (job.steps ?? []).filter(isRolloutGuard).map((step): [string, Job, Step] => [name, job, step])
  )
}

describe('README workflow examples', () => {
  const blocks = yamlBlocks(readme)
    .filter((b) => b.includes(`uses: ${ACTION}`))
    .map((b) => b.trim())
  // A whole workflow (it has `jobs:`) is an example file word for word; a few steps are a snippet.
  const workflows = blocks.filter((b) => /^jobs:/m.test(b))
  const snippets = blocks.filter((b) => !/^jobs:/m.test(b))

  test('there are examples, in the README and in examples/', () => {
    expect(exampleFiles.length).toBeGreaterThanOrEqual(7)
    expect(workflows.length).toBeGreaterThanOrEqual(1)
  })

  test.each(workflows.map((b, i): [number, string] => [i + 1, b]))(
    'workflow %i in the README is a file in examples/',
    (_n, block) => {
      const same = [...examples].filter(([, text]) => text === block).map(([file]) => file)
      if (same.length === 0) {
        const first = block.split('\n').find((line) => line.trim() !== '') ?? ''
        throw new Error(`this README block (starting "${first}") differs from every file in examples/`)
      }
      expect(same).toHaveLength(1)
    }
  )

  test.each(snippets.map((b, i): [number, string] => [i + 1, b]))(
    'snippet %i in the README uses only inputs action.yml declares',
    (_n, block) => {
      const steps = parse(block.replace(/^ {6}/gm, '')) as Step[]
      const ours = steps.filter(isRolloutGuard)
      expect(ours.length).toBeGreaterThan(0)
      for (const step of ours) expect(Object.keys(step.with ?? {}).filter((key) => !inputNames.has(key))).toEqual([])
    }
  )

  test.each(exampleFiles)('examples/%s is linked from the README', (file) => {
    expect(readme).toContain(`](examples/${file})`)
  })
})

describe.each(exampleFiles)('examples/%s', (file) => {
  const workflow = parse(examples.get(file) ?? '') as Workflow
  const steps = rolloutGuardSteps(workflow)

  test('uses the action', () => {
    expect(steps.length).toBeGreaterThan(0)
  })

  test('every `with:` key on the rollout-guard step is an input in action.yml', () => {
    for (const [job, , step] of steps) {
      const unknown = Object.keys(step.with ?? {}).filter((key) => !inputNames.has(key))
      expect({ job, unknown }).toEqual({ job, unknown: [] })
    }
  })

  test('every input action.yml requires is given', () => {
    const required = Object.entries(action.inputs)
      .filter(([, input]) => (input as { required?: boolean }).required === true)
      .map(([name]) => name)
    for (const [job, , step] of steps) {
      const missing = required.filter((name) => !(name in (step.with ?? {})))
      expect({ job, missing }).toEqual({ job, missing: [] })
    }
  })

  test('the job grants exactly the permissions the action uses', () => {
    for (const [job, definition, step] of steps) {
      const permissions = definition.permissions
      expect(typeof permissions).toBe('object')
      const granted = permissions as Record<string, string>
      // Commit statuses always; a GitHub Deployment record only when an environment is named (and the cluster
      // really changes, which check mode never does); a PR check's comment needs pull-requests unless turned off.
      const recordsDeployment = step.with?.environment !== undefined && step.with?.mode !== 'check'
      const comments = step.with?.mode === 'check' && String(step.with?.['pr-comment'] ?? true) !== 'false'
      const wanted: Record<string, string> = { contents: 'read', statuses: 'write' }
      if (recordsDeployment) wanted.deployments = 'write'
      if (comments) wanted['pull-requests'] = 'write'
      expect({ job, permissions: granted }).toEqual({ job, permissions: wanted })
    }
  })
})

describe('README inputs and outputs tables', () => {
  test('match action.yml (node scripts/readme-tables.mjs --write updates them)', () => {
    let problem = ''
    try {
      execFileSync(process.execPath, [join(ROOT, 'scripts', 'readme-tables.mjs'), '--check'], {
        cwd: ROOT,
        stdio: 'pipe'
      })
    } catch (error) {
      problem = String((error as { stderr?: Buffer }).stderr ?? error)
    }
    expect(problem).toBe('')
  })

  test('name every input and output of action.yml', () => {
    for (const name of inputNames) expect(readme).toContain(`| \`${name}\` |`)
    const outputs = Object.keys((parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { outputs: object }).outputs)
    for (const name of outputs) expect(readme).toContain(`| \`${name}\` |`)
  })
})
