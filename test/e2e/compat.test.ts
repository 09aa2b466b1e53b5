// Which Kubernetes can Rollout Guard run against? Asked of the cluster itself, by API discovery: every (group,
// resource, verb) the engine's preflight checks — each workload kind's rules, the common ones, the release lock, the
// canary, every kind of dependency — and the access review it asks them with must be served by the cluster in the
// API version the engine's client calls (client-node's *V1Api classes: v1 of every group). `npm run compat` runs this
// file first against each Kubernetes release of the matrix; in the ordinary suite it holds for the bed's release.
import { beforeAll, describe, expect, test } from '@jest/globals'
import * as k8s from '@kubernetes/client-node'
import { dependencyPermissions } from '../../src/dependencies/watch.js'
import { parseDependency } from '../../src/dependencies/judge.js'
import {
  COMMON_PERMISSIONS,
  LEASE_PERMISSIONS,
  type Permission,
  REQUIRED_PERMISSIONS
} from '../../src/kube/preflight.js'
import { CANARY_PERMISSIONS } from '../../src/release/run.js'
import { WORKLOAD_KINDS } from '../../src/workloads/index.js'
import { bed, kubeConfig } from './support/bed.js'

/** The API class the engine's client (src/kube/client.ts) calls for each group: v1 of every one. */
const CLIENT_OF: Record<
  string,
  new (config: k8s.Configuration) => { getAPIResources(): Promise<k8s.V1APIResourceList> }
> = {
  '': k8s.CoreV1Api,
  apps: k8s.AppsV1Api,
  'coordination.k8s.io': k8s.CoordinationV1Api,
  'discovery.k8s.io': k8s.DiscoveryV1Api,
  'authorization.k8s.io': k8s.AuthorizationV1Api
}

/** Every permission the engine may ask for, from the same lists its preflight uses. */
function everyPermission(): Permission[] {
  const dependencies = ['deployment/ns/a', 'statefulset/ns/b', 'service/ns/c'].map((spec) => parseDependency(spec))
  return [
    ...COMMON_PERMISSIONS,
    ...LEASE_PERMISSIONS,
    ...REQUIRED_PERMISSIONS,
    ...CANARY_PERMISSIONS,
    ...Object.values(WORKLOAD_KINDS).flatMap((k) => k.permissions),
    ...dependencyPermissions(dependencies).flatMap((d) => d.permissions),
    // The question preflight asks them with.
    { group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews', verb: 'create' }
  ]
}

let kc: k8s.KubeConfig
let serverVersion: string

beforeAll(async () => {
  kc = kubeConfig(await bed())
  serverVersion = (await kc.makeApiClient(k8s.VersionApi).getCode()).gitVersion
})

/** What the cluster serves in `group`'s v1 (undefined: not served at all), by API discovery. */
async function served(group: string): Promise<k8s.V1APIResource[] | undefined> {
  const client = CLIENT_OF[group]
  if (!client)
    throw new Error(`the engine asks for a permission in API group "${group}", which this test has no client for`)
  try {
    return (await kc.makeApiClient(client).getAPIResources()).resources
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined
    throw e
  }
}

describe('API discovery: the cluster serves what the engine uses', () => {
  test('every permission the engine checks names an API the cluster serves, with that verb', async () => {
    const missing: string[] = []
    const seen = new Set<string>()
    const groups = new Map<string, k8s.V1APIResource[] | undefined>()
    for (const p of everyPermission()) {
      const resource = p.subresource ? `${p.resource}/${p.subresource}` : p.resource
      const key = `${p.verb} ${resource}.${p.group || 'core'}`
      if (seen.has(key)) continue
      seen.add(key)
      if (!groups.has(p.group)) groups.set(p.group, await served(p.group))
      const found = groups.get(p.group)?.find((r) => r.name === resource)
      if (!found) missing.push(`${resource} in ${p.group || 'core'}/v1`)
      else if (!found.verbs.includes(p.verb)) missing.push(`${key} (served verbs: ${found.verbs.join(', ')})`)
    }
    expect(seen.size).toBeGreaterThan(20)
    // Named in the failure so a compat run says exactly what an older cluster lacks.
    expect({ serverVersion, missing }).toEqual({ serverVersion, missing: [] })
  })
})
