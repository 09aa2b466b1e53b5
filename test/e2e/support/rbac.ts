// A ServiceAccount with a Role of its own, and a kubeconfig that acts as it (a token, no admin certificate): for
// tests of what the release does with limited rights.
import type * as k8s from '@kubernetes/client-node'
import type { Clients } from './bed.js'

export interface ServiceAccountKubeconfig {
  /** The kubeconfig (YAML): the cluster of `c`, the ServiceAccount's token. */
  kubeconfig: string
  token: string
}

/**
 * Creates ServiceAccount `name` in `namespace`, a Role `name` with `rules` bound to it, and a token; returns a
 * kubeconfig for it. The Role can be replaced later (same name) to change the rights mid-release.
 */
export async function serviceAccountKubeconfig(
  c: Clients,
  namespace: string,
  name: string,
  rules: k8s.V1PolicyRule[]
): Promise<ServiceAccountKubeconfig> {
  await c.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } })
  await c.rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } })
  await c.rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }]
    }
  })
  const created = await c.core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [] } }
  })
  const token = created.status?.token
  if (!token) throw new Error(`no token for ServiceAccount ${namespace}/${name}`)
  const cluster = c.kc.getCurrentCluster()
  if (!cluster) throw new Error('the bed kubeconfig has no current cluster')
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{ name: bed, cluster: { server: "${cluster.server}", certificate-authority-data: "${cluster.caData}" } }]`,
    `users: [{ name: ${name}, user: { token: "${token}" } }]`,
    `contexts: [{ name: ${name}, context: { cluster: bed, user: ${name} } }]`,
    `current-context: ${name}`
  ].join('\n')
  return { kubeconfig, token }
}
