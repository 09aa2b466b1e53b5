// A release plan file: ordered stages of workloads. Pure: text in, stages out, or an InputError that names the file and
// line of the mistake (the `yaml` package keeps every node's position). Schema:
//
//   stages:                      # in order; the first bad stage stops the train and every done stage is restored
//     - name: data               # optional (default "stage N")
//       context: staging         # optional kubeconfig context for the whole stage
//       workloads:               # rolled out together
//         - statefulset/db-api   # kind/name (a bare name is a Deployment), or a mapping:
//         - workload: deployment/orders
//           namespace: shop      # default: the `namespace` input
//           containers: [app]    # default: the `containers` input
//           image: registry.example.com/shop/orders:v2   # default: the release image; a tag or digest is resolved
//           timeout: 5m          # and max-restarts, image-pull-grace, unschedulable-grace, soak: own thresholds
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node as YamlNode,
  type YAMLMap,
  type YAMLSeq
} from 'yaml'
import type { FailFastLimits, ImageRef } from '../config.js'
import { parseDuration, parseImageRef, parseNonNegativeInt } from '../config/parse.js'
import { InputError } from '../errors.js'
import type { WorkloadRef } from '../model/index.js'
import { parseWorkloads } from './workloads.js'

export interface WorkloadPlan extends WorkloadRef {
  /** Containers to patch; empty = by image repository. */
  containers: string[]
  /** This workload's own image (resolved to a digest), instead of the release image. */
  image?: ImageRef
  failFast: FailFastLimits
  timeoutMs: number
  soakMs: number
}

export interface StagePlan {
  name: string
  /** Kubeconfig context; undefined = the release's. */
  context?: string
  workloads: WorkloadPlan[]
}

/** What a plan inherits from the inputs. */
export interface PlanDefaults {
  namespace: string
  containers: string[]
  failFast: FailFastLimits
  timeoutMs: number
  soakMs: number
  /** Contexts of the kubeconfig, to reject a stage that names an unknown one; undefined = not checked. */
  contexts?: string[]
}

const STAGE_KEYS = ['name', 'context', 'workloads']
const WORKLOAD_KEYS = [
  'workload',
  'namespace',
  'containers',
  'image',
  'timeout',
  'max-restarts',
  'image-pull-grace',
  'unschedulable-grace',
  'soak'
]

export function parsePlan(text: string, file: string, defaults: PlanDefaults): StagePlan[] {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true })
  const at = (node: YamlNode | null | undefined): string => {
    const offset = node?.range?.[0]
    return offset === undefined ? file : `${file}:${lines.linePos(offset).line}`
  }
  const fail = (node: YamlNode | null | undefined, message: string): never => {
    throw new InputError(`Plan ${at(node)}: ${message}`)
  }
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!
    throw new InputError(`Plan ${file}:${e.linePos?.[0]?.line ?? '?'}: not valid YAML (${e.message.split('\n')[0]})`)
  }
  const root = doc.contents
  if (!isMap(root)) return fail(root, 'expected a mapping with `stages`')
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ''
    if (key !== 'stages') fail(pair.key as YamlNode, `unknown key "${key}" (a plan has: stages)`)
  }
  const stagesNode = root.get('stages', true) as YamlNode | undefined
  if (!isSeq(stagesNode) || stagesNode.items.length === 0) {
    return fail(stagesNode ?? root, '`stages` must be a non-empty list of stages')
  }
  const seen = new Map<string, string>()
  const stages: StagePlan[] = []
  stagesNode.items.forEach((stageNode, i) => {
    const node = stageNode as YamlNode
    if (!isMap(node)) fail(node, `stage ${i + 1} must be a mapping with \`workloads\``)
    const stage = node as unknown as YAMLMap
    for (const pair of stage.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : ''
      if (!STAGE_KEYS.includes(key)) {
        fail(pair.key as YamlNode, `unknown key "${key}" in stage ${i + 1} (a stage has: ${STAGE_KEYS.join(', ')})`)
      }
    }
    const nameNode = stage.get('name', true) as YamlNode | undefined
    const name = nameNode ? scalarString(nameNode, 'name', fail) : `stage ${i + 1}`
    const contextNode = stage.get('context', true) as YamlNode | undefined
    const context = contextNode ? scalarString(contextNode, 'context', fail) : undefined
    if (context !== undefined && defaults.contexts && !defaults.contexts.includes(context)) {
      fail(
        contextNode,
        `stage "${name}" uses context "${context}", which the kubeconfig does not have (it has: ${defaults.contexts.join(', ') || 'none'})`
      )
    }
    const workloadsNode = stage.get('workloads', true) as YamlNode | undefined
    if (!isSeq(workloadsNode) || workloadsNode.items.length === 0) {
      fail(workloadsNode ?? node, `stage "${name}" has no workloads (\`workloads\` must be a non-empty list)`)
    }
    const workloads = (workloadsNode as YAMLSeq).items.map((w) => parseWorkload(w as YamlNode, name, defaults, fail))
    for (const [j, w] of workloads.entries()) {
      const key = `${context ?? ''}/${w.namespace}/${w.kind}/${w.name}`
      const where = at((workloadsNode as YAMLSeq).items[j] as YamlNode)
      const first = seen.get(key)
      if (first) {
        fail(
          (workloadsNode as YAMLSeq).items[j] as YamlNode,
          `${w.kind.toLowerCase()}/${w.name} in namespace "${w.namespace}" is already in the plan (${first}); a workload can be in one stage only`
        )
      }
      seen.set(key, where)
    }
    stages.push({ name, context, workloads })
  })
  const names = stages.map((s) => s.name)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup) fail(stagesNode, `two stages are named "${dup}"`)
  return stages
}

type Fail = (node: YamlNode | null | undefined, message: string) => never

function scalarString(node: YamlNode, what: string, fail: Fail): string {
  if (!isScalar(node) || node.value === null || typeof node.value === 'object' || String(node.value).trim() === '') {
    return fail(node, `\`${what}\` must be a non-empty string`)
  }
  return String(node.value).trim()
}

function parseWorkload(node: YamlNode, stage: string, defaults: PlanDefaults, fail: Fail): WorkloadPlan {
  const base = {
    namespace: defaults.namespace,
    containers: defaults.containers,
    failFast: { ...defaults.failFast },
    timeoutMs: defaults.timeoutMs,
    soakMs: defaults.soakMs
  }
  const ref = (text: string, where: YamlNode): WorkloadRef => {
    try {
      return parseWorkloads(undefined, [text], base.namespace)[0]!
    } catch (e) {
      return fail(where, (e as Error).message.replace(/^Input "workloads": /, ''))
    }
  }
  if (isScalar(node)) return { ...base, ...ref(scalarString(node, 'workload', fail), node) }
  if (!isMap(node)) return fail(node, `a workload in stage "${stage}" must be kind/name or a mapping with \`workload\``)
  const map = node as unknown as YAMLMap
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ''
    if (!WORKLOAD_KEYS.includes(key)) {
      fail(pair.key as YamlNode, `unknown key "${key}" in a workload (a workload has: ${WORKLOAD_KEYS.join(', ')})`)
    }
  }
  const get = (key: string) => map.get(key, true) as YamlNode | undefined
  const workloadNode = get('workload')
  if (!workloadNode) return fail(node, `a workload in stage "${stage}" needs \`workload: kind/name\``)
  const namespaceNode = get('namespace')
  const namespace = namespaceNode ? scalarString(namespaceNode, 'namespace', fail) : base.namespace
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
    fail(namespaceNode, `"${namespace}" is not a valid namespace name (lowercase DNS label)`)
  }
  const plan: WorkloadPlan = { ...base, ...ref(scalarString(workloadNode, 'workload', fail), workloadNode), namespace }
  const containersNode = get('containers')
  if (containersNode) {
    if (!isSeq(containersNode)) fail(containersNode, '`containers` must be a list of container names')
    plan.containers = (containersNode as YAMLSeq).items.map((c) => scalarString(c as YamlNode, 'containers', fail))
  }
  const wrap = <T>(key: string, parse: (text: string) => T): T | undefined => {
    const n = get(key)
    if (!n) return undefined
    const text = scalarString(n, key, fail)
    try {
      return parse(text)
    } catch (e) {
      return fail(n, (e as Error).message.replace(/^Input "[^"]+": /, `${key}: `))
    }
  }
  plan.image = wrap('image', (t) => parseImageRef(t, 'image'))
  plan.timeoutMs = wrap('timeout', (t) => parseDuration(t, 'timeout')) ?? plan.timeoutMs
  plan.soakMs = wrap('soak', (t) => parseDuration(t, 'soak')) ?? plan.soakMs
  plan.failFast.maxRestarts =
    wrap('max-restarts', (t) => parseNonNegativeInt(t, 'max-restarts')) ?? plan.failFast.maxRestarts
  plan.failFast.imagePullGraceMs =
    wrap('image-pull-grace', (t) => parseDuration(t, 'image-pull-grace')) ?? plan.failFast.imagePullGraceMs
  plan.failFast.unschedulableGraceMs =
    wrap('unschedulable-grace', (t) => parseDuration(t, 'unschedulable-grace')) ?? plan.failFast.unschedulableGraceMs
  if (plan.timeoutMs <= 0) fail(get('timeout'), 'timeout must be longer than 0s')
  return plan
}
