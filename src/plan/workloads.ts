// `kind/name` workload references, as the `workloads` input and plan files write them.
import { InputError } from '../errors.js'
import type { WorkloadKindName, WorkloadRef } from '../model/index.js'

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

const KIND_NAMES: Record<string, WorkloadKindName> = {
  deployment: 'Deployment',
  deployments: 'Deployment',
  deploy: 'Deployment',
  statefulset: 'StatefulSet',
  statefulsets: 'StatefulSet',
  sts: 'StatefulSet',
  daemonset: 'DaemonSet',
  daemonsets: 'DaemonSet',
  ds: 'DaemonSet'
}

/** `deployment` (one name) or `workloads` (kind/name entries, a bare name is a Deployment): never both, never none. */
export function parseWorkloads(deployment: string | undefined, entries: string[], namespace: string): WorkloadRef[] {
  if (deployment !== undefined && entries.length > 0) {
    throw new InputError('Inputs "deployment" and "workloads": give one of them (add the Deployment to workloads)')
  }
  if (deployment !== undefined) {
    if (deployment.length > 253 || !DNS_SUBDOMAIN.test(deployment)) {
      throw new InputError(`Input "deployment": "${deployment}" is not a valid Deployment name (lowercase DNS name)`)
    }
    return [{ kind: 'Deployment', name: deployment, namespace }]
  }
  if (entries.length === 0) {
    throw new InputError(
      'Input "deployment" is required (or "workloads"): the name of the Deployment, or kind/name entries'
    )
  }
  const refs: WorkloadRef[] = []
  for (const entry of entries) {
    const slash = entry.indexOf('/')
    const kindText = slash < 0 ? 'deployment' : entry.slice(0, slash).toLowerCase()
    const name = slash < 0 ? entry : entry.slice(slash + 1)
    const kind = KIND_NAMES[kindText]
    if (!kind) {
      throw new InputError(
        `Input "workloads": "${entry}" has an unknown kind "${kindText}" (use deployment/, statefulset/ or daemonset/)`
      )
    }
    if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      throw new InputError(`Input "workloads": "${entry}": "${name}" is not a valid ${kind} name (lowercase DNS name)`)
    }
    if (refs.some((r) => r.kind === kind && r.name === name)) {
      throw new InputError(`Input "workloads": ${kind.toLowerCase()}/${name} is listed twice`)
    }
    refs.push({ kind, name, namespace })
  }
  return refs
}
