// deploy/rbac.yaml follows the permissions preflight checks: its Role is exactly what a Deployment release with the
// release lock asks for, and each commented block is exactly what its feature adds. (test/e2e/rbac.test.ts proves the
// Role on a real apiserver; this keeps the commented blocks from drifting when a feature's permissions change.)
import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { dependencyPermissions } from '../../src/dependencies/watch.js'
import { COMMON_PERMISSIONS, LEASE_PERMISSIONS, type Permission, describePermission } from '../../src/kube/preflight.js'
import { CANARY_PERMISSIONS } from '../../src/release/run.js'
import { WORKLOAD_KINDS } from '../../src/workloads/index.js'

const ROOT = resolve(import.meta.dirname, '../..')
const text = readFileSync(join(ROOT, 'deploy', 'rbac.yaml'), 'utf8')

interface Rule {
  apiGroups: string[]
  resources: string[]
  verbs: string[]
}

/** "verb resource.group" for every combination a rule grants, as preflight names them. */
function granted(rules: Rule[]): string[] {
  const out = new Set<string>()
  for (const r of rules)
    for (const group of r.apiGroups)
      for (const resource of r.resources)
        for (const verb of r.verbs) {
          const [res, sub] = resource.split('/')
          out.add(describePermission({ group, resource: res!, subresource: sub, verb }))
        }
  return [...out].sort()
}

const names = (ps: Permission[]): string[] => [...new Set(ps.map(describePermission))].sort()

/** The commented `# --- <title>` blocks of rules after the Role's rules, by the title's first word. */
function commentedBlocks(): Map<string, Rule[]> {
  const blocks = new Map<string, string[]>()
  let current: string[] | undefined
  for (const line of text.split('\n')) {
    const header = /^ {2}# --- (\w+)/.exec(line)
    if (header) {
      current = []
      blocks.set(header[1]!, current)
    } else if (current && /^ {2}# ( {2}|- )/.test(line)) current.push(line.slice(4))
    else if (!/^ {2}#/.test(line)) current = undefined
  }
  return new Map([...blocks].map(([k, lines]) => [k, parse(lines.join('\n')) as Rule[]]))
}

const docs = parseAllDocuments(text).map((d) => d.toJS() as { kind: string; rules?: Rule[] })
const role = docs.find((d) => d.kind === 'Role')!
const base = names([...WORKLOAD_KINDS.Deployment.permissions, ...COMMON_PERMISSIONS, ...LEASE_PERMISSIONS])
const beyondBase = (ps: Permission[]) => names(ps).filter((p) => !base.includes(p))

describe('deploy/rbac.yaml', () => {
  test('is a ServiceAccount, a Role and a RoleBinding between them, nothing cluster-wide', () => {
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding'])
  })

  test('the Role grants exactly what a Deployment release with the lock checks', () => {
    expect(granted(role.rules!)).toEqual(base)
  })

  const blocks = commentedBlocks()
  test.each([
    ['StatefulSets', () => beyondBase(WORKLOAD_KINDS.StatefulSet.permissions)],
    ['DaemonSets', () => beyondBase(WORKLOAD_KINDS.DaemonSet.permissions)],
    ['Canary', () => beyondBase(CANARY_PERMISSIONS)],
    [
      'Dependencies',
      () =>
        names(
          dependencyPermissions(
            (['deployment', 'statefulset', 'service'] as const).map((kind) => ({
              kind,
              namespace: 'shop',
              name: 'x',
              spec: `${kind}/shop/x`
            }))
          ).flatMap((d) => d.permissions)
        )
    ]
  ])('the commented block "%s" is exactly what the feature adds', (title, wanted) => {
    const rules = blocks.get(title)
    expect(rules).toBeDefined()
    expect(granted(rules!)).toEqual(wanted())
  })

  test('there is no other commented block', () => {
    expect([...blocks.keys()].sort()).toEqual(['Canary', 'DaemonSets', 'Dependencies', 'StatefulSets'])
  })
})
