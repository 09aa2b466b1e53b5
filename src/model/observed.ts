// The observed state of a rollout: what the watches have seen of the workload (Deployment and its ReplicaSets,
// StatefulSet, DaemonSet) and the new revision's pods, flattened into plain data. The watchers build it; the judges read
// it. No I/O here.

export interface Condition {
  type: string
  status: string
  reason?: string
  message?: string
  lastTransitionTime?: string
}

export type ContainerState =
  | { kind: 'waiting'; reason?: string; message?: string }
  | { kind: 'running'; startedAt?: string }
  | { kind: 'terminated'; reason?: string; exitCode: number; signal?: number; message?: string }
  | { kind: 'unknown' }

export interface ContainerObservation {
  name: string
  /** An init container (including restartable sidecars). */
  init: boolean
  image: string
  ready: boolean
  restartCount: number
  state: ContainerState
  lastTerminated?: { reason?: string; exitCode: number; message?: string }
  /**
   * When (ms since epoch, by our clock) we first saw the container in its current state kind + reason.
   * Lets the judge apply grace periods (image pulls, unschedulable) without trusting cluster timestamps.
   */
  stateSinceMs: number
}

export interface PodObservation {
  name: string
  uid: string
  phase: string
  reason?: string
  message?: string
  deleting: boolean
  nodeName?: string
  ready: boolean
  createdMs: number
  /** Present while PodScheduled=False with reason Unschedulable; sinceMs by our clock. */
  unschedulable?: { message: string; sinceMs: number }
  containers: ContainerObservation[]
}

export interface ReplicaSetObservation {
  name: string
  uid: string
  /** `deployment.kubernetes.io/revision` */
  revision: string
  podTemplateHash: string
  replicas: number
  readyReplicas: number
  availableReplicas: number
  /** ReplicaFailure condition (e.g. FailedCreate because of a quota), with when we first saw it. */
  replicaFailure?: { reason: string; message: string; sinceMs: number }
}

export interface DeploymentObservation {
  generation: number
  observedGeneration: number
  /** spec.replicas (defaults to 1) */
  replicas: number
  statusReplicas: number
  updatedReplicas: number
  readyReplicas: number
  availableReplicas: number
  unavailableReplicas: number
  /** Pods the controller may take down before new ones are available (resolved from the strategy). */
  maxUnavailable: number
  paused: boolean
  conditions: Condition[]
  /** spec.progressDeadlineSeconds in ms; undefined when the Deployment has none (the API's "never"). */
  progressDeadlineMs?: number
  /**
   * By our clock, when we first saw the Progressing condition as it is now (its status, reason and lastUpdateTime):
   * the controller moves lastUpdateTime on every sign of progress. Our clock, not the cluster's timestamp, so a skewed
   * runner clock cannot make a rollout look stalled.
   */
  progressSeenSinceMs?: number
}

export interface ObservedState {
  /** Our clock when this state was assembled. */
  nowMs: number
  /** When the watch (of this rollout or rollback) started, by our clock. */
  startedMs: number
  deployment: DeploymentObservation
  /** The ReplicaSet whose template is the one we want (undefined until the controller has created it). */
  newReplicaSet?: ReplicaSetObservation
  /** Other ReplicaSets that still own pods. */
  oldReplicaSets: ReplicaSetObservation[]
  /** Pods of the new ReplicaSet. */
  pods: PodObservation[]
  /** Pods of the Deployment outside the new ReplicaSet that are being deleted (they still hold quota). */
  terminatingOldPods: number
}

/** A StatefulSet's spec and status, as kubectl's rollout status reads them. */
export interface StatefulSetObservation {
  generation: number
  observedGeneration: number
  /** spec.replicas (defaults to 1) */
  replicas: number
  /** spec.updateStrategy.rollingUpdate.partition (0 when unset) */
  partition: number
  statusReplicas: number
  readyReplicas: number
  availableReplicas: number
  updatedReplicas: number
  currentRevision: string
  updateRevision: string
}

export interface StatefulSetState {
  nowMs: number
  startedMs: number
  statefulSet: StatefulSetObservation
  /** The ControllerRevision name of the template being rolled out, once the controller has made it. */
  revision?: string
  /** Pods on that revision (label controller-revision-hash). */
  pods: PodObservation[]
}

/** A DaemonSet's status, as kubectl's rollout status reads it. */
export interface DaemonSetObservation {
  generation: number
  observedGeneration: number
  desiredNumberScheduled: number
  currentNumberScheduled: number
  updatedNumberScheduled: number
  numberAvailable: number
  numberReady: number
}

export interface DaemonSetState {
  nowMs: number
  startedMs: number
  daemonSet: DaemonSetObservation
  /** The controller-revision-hash of the template being rolled out, once the controller has made its revision. */
  revision?: string
  /** Pods on that revision. */
  pods: PodObservation[]
}
