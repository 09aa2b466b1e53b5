// The troubleshooting entries (docs/troubleshooting.md) quote error messages verbatim. Each quote is produced here by
// the code path that really raises it (with the page's example names), so a change of wording fails this test until
// the page follows.
import { describe, expect, test } from '@jest/globals'
import type { V1Deployment, V1Lease } from '@kubernetes/client-node'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseKubeconfig } from '../../src/config/from-raw.js'
import { parseImageRef } from '../../src/config/parse.js'
import type { KubeClients } from '../../src/kube/client.js'
import { REQUIRED_PERMISSIONS, checkPermissions } from '../../src/kube/preflight.js'
import { ReleaseLock } from '../../src/lock/lease.js'
import { WORKLOAD_KINDS } from '../../src/workloads/index.js'
import { type Snapshot, applyGuardedPatch, selectContainers } from '../../src/workloads/template.js'

const ROOT = resolve(import.meta.dirname, '../..')
const page = readFileSync(join(ROOT, 'docs', 'troubleshooting.md'), 'utf8')

/** `<!-- error:id -->` followed by a `> quote` line, in docs/troubleshooting.md. */
function quotes(markdown: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const m of markdown.matchAll(/<!-- error:([a-z0-9-]+) -->\n+> (.+)\n/g)) out.set(m[1]!, m[2]!)
  return out
}

/** What the code raises, as the text a user reads. */
async function messageOf(run: () => unknown): Promise<string> {
  try {
    const value = await run()
    return typeof value === 'string' ? value : `no error: ${JSON.stringify(value)}`
  } catch (e) {
    return (e as Error).message
  }
}

const NS = 'shop-staging'

function snapshot(containers: { name: string; image: string }[]): Snapshot {
  return {
    kind: 'Deployment',
    namespace: NS,
    name: 'web',
    uid: 'u1',
    resourceVersion: '1',
    generation: 4,
    replicas: 2,
    template: { spec: { containers } },
    containers: containers.map((c, index) => ({ ...c, init: false, index })),
    hasAnnotations: true
  }
}

const clients = (parts: Partial<Record<keyof KubeClients, unknown>>): KubeClients => parts as unknown as KubeClients

const silent = { info: () => undefined, warning: () => undefined, group: <T>(_n: string, fn: () => Promise<T>) => fn() }

/** The code path behind each entry, fed the page's example. */
const producers: Record<string, () => Promise<string>> = {
  'container-not-matched': () =>
    messageOf(() =>
      selectContainers(snapshot([{ name: 'app', image: 'nginx:1.27' }]), [], parseImageRef('docker.io/library/nginx'))
    ),
  'kubeconfig-base64': () => messageOf(() => parseKubeconfig('A'.repeat(80))),
  'missing-rbac': () =>
    messageOf(() =>
      checkPermissions(
        clients({
          authz: {
            createSelfSubjectAccessReview: ({ body }: { body: { spec: { resourceAttributes: { verb: string } } } }) =>
              Promise.resolve({ status: { allowed: body.spec.resourceAttributes.verb !== 'patch' } })
          }
        }),
        NS,
        REQUIRED_PERMISSIONS
      )
    ),
  conflict: () =>
    messageOf(() =>
      applyGuardedPatch(
        clients({
          apps: {
            // The JSON Patch `test` of the generation failed: a bare 422; the Deployment has moved on meanwhile.
            patchNamespacedDeployment: () =>
              Promise.reject(Object.assign(new Error('HTTP 422'), { code: 422, body: '{}' })),
            readNamespacedDeployment: () => Promise.resolve({ metadata: { name: 'web', namespace: NS, generation: 5 } })
          }
        }),
        snapshot([{ name: 'app', image: 'registry.example.com/shop/web:v1' }]),
        [
          { op: 'test', path: '/metadata/generation', value: 4 },
          { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.example.com/shop/web:v2' }
        ]
      )
    ),
  locked: () => {
    // The other release renews its Lease; our clock says lock-timeout (5m) has passed since we started waiting.
    let calls = 0
    const clock = () => (calls++ === 0 ? 0 : 1_000_000_000)
    const held: V1Lease = {
      metadata: { name: 'rollout-guard.deployment.web', namespace: NS },
      spec: {
        holderIdentity: 'https://github.com/acme/shop/actions/runs/42',
        leaseDurationSeconds: 15,
        renewTime: new Date(1_000_000_000) as never
      }
    }
    const lock = new ReleaseLock({
      holder: 'https://github.com/acme/shop/actions/runs/43',
      waitMs: 300_000,
      log: silent,
      clock
    })
    return messageOf(() =>
      lock.acquire([
        {
          ref: { kind: 'Deployment', name: 'web', namespace: NS },
          clients: clients({
            coordination: {
              createNamespacedLease: () => Promise.reject(Object.assign(new Error('HTTP 409'), { code: 409 })),
              readNamespacedLease: () => Promise.resolve(held)
            }
          })
        }
      ])
    )
  },
  paused: () => {
    const paused: V1Deployment = { metadata: { name: 'web', namespace: NS }, spec: { paused: true } as never }
    return messageOf(() => WORKLOAD_KINDS.Deployment.refuse(paused))
  }
}

describe('docs/troubleshooting.md quotes', () => {
  const quoted = quotes(page)

  test('every entry the code can produce is quoted, and nothing else', () => {
    expect([...quoted.keys()].sort()).toEqual(Object.keys(producers).sort())
  })

  test.each(Object.keys(producers))('%s: the quote is the message the code produces', async (id) => {
    expect(quoted.get(id)).toBe(await producers[id]!())
  })
})
