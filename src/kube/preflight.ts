// Before anything changes: may this identity do everything the release needs? (SelfSubjectAccessReview, the same
// question `kubectl auth can-i` asks.) A missing permission fails the release before the patch, naming the rule.
import { ClusterError, PreflightError } from '../errors.js'
import { type KubeClients, apiMessage } from './client.js'

export interface Permission {
  group: string
  resource: string
  subresource?: string
  verb: string
}

/** What every release needs besides its workload kinds' own rules (src/workloads/*: `permissions`). */
export const COMMON_PERMISSIONS: Permission[] = [
  { group: '', resource: 'pods', verb: 'list' },
  { group: '', resource: 'pods', verb: 'watch' },
  { group: '', resource: 'pods', subresource: 'log', verb: 'get' },
  { group: '', resource: 'events', verb: 'list' }
]

/** The release lock: one coordination.k8s.io Lease per workload. */
export const LEASE_PERMISSIONS: Permission[] = [
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'get' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'create' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'update' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'patch' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'delete' }
]

/** A Deployment release's permissions. */
export const REQUIRED_PERMISSIONS: Permission[] = [
  { group: 'apps', resource: 'deployments', verb: 'get' },
  { group: 'apps', resource: 'deployments', verb: 'patch' },
  { group: 'apps', resource: 'deployments', verb: 'list' },
  { group: 'apps', resource: 'deployments', verb: 'watch' },
  { group: 'apps', resource: 'replicasets', verb: 'list' },
  { group: 'apps', resource: 'replicasets', verb: 'watch' },
  ...COMMON_PERMISSIONS
]

export function describePermission(p: Permission): string {
  const resource = p.subresource ? `${p.resource}/${p.subresource}` : p.resource
  return `${p.verb} ${p.group ? `${resource}.${p.group}` : resource}`
}

export async function checkPermissions(
  clients: KubeClients,
  namespace: string,
  permissions = REQUIRED_PERMISSIONS
): Promise<void> {
  const answers = await Promise.all(
    permissions.map(async (p) => {
      try {
        const review = await clients.authz.createSelfSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                namespace,
                group: p.group,
                resource: p.resource,
                subresource: p.subresource,
                verb: p.verb
              }
            }
          }
        })
        return { p, allowed: review.status?.allowed === true }
      } catch (e) {
        throw new ClusterError(`Could not check permissions (SelfSubjectAccessReview): ${apiMessage(e)}`)
      }
    })
  )
  const missing = answers.filter((a) => !a.allowed).map((a) => describePermission(a.p))
  if (missing.length > 0) {
    throw new PreflightError(
      `The Kubernetes identity in the kubeconfig may not ${missing.join(', ')} in namespace "${namespace}". Grant these in a Role bound to it; nothing was changed.`
    )
  }
}
