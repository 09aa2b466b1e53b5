// The workload kinds by name.
import type { WorkloadKindName } from '../model/index.js'
import { daemonSetKind } from './daemonset.js'
import { deploymentKind } from './deployment.js'
import { statefulSetKind } from './statefulset.js'
import type { WorkloadKind } from './types.js'

export const WORKLOAD_KINDS: Record<WorkloadKindName, WorkloadKind> = {
  Deployment: deploymentKind,
  StatefulSet: statefulSetKind,
  DaemonSet: daemonSetKind
}

export type { WorkloadKind, WorkloadWatch } from './types.js'
