// One interface for every workload kind a release can change. Reading, snapshotting, planning the patch and the
// exact-template restore are shared (template.ts: all kinds keep the pod template at /spec/template); what differs
// per kind lives behind this interface: what is refused before anything changes, what to watch, the pure judge of
// "done" and "doomed", and what a rollback must do beyond putting the template back.
import type { Trap } from '../judge/traps.js'
import type { KubeClients, V1Pod, V1PodTemplateSpec } from '../kube/client.js'
import type { Permission } from '../kube/preflight.js'
import type { Logger, WorkloadKindName } from '../model/index.js'
import type { JudgedWorkload } from '../watch/judge-loop.js'
import type { Snapshot, WorkloadObject } from './template.js'

export interface WatchOptions {
  clients: KubeClients
  namespace: string
  object: WorkloadObject
  clock: () => number
  onChange: () => void
  log: (message: string) => void
}

/** A started watch on one workload: judges its rollout and answers what the engine asks of its pods. */
export interface WorkloadWatch extends JudgedWorkload {
  start(): Promise<void>
  stop(): void
  /** Pods on `template` (from the cache), e.g. the old pods whose error rate is the baseline. */
  podsOn(template: V1PodTemplateSpec): V1Pod[]
  /** The revision of `template` as the kind numbers it (a ReplicaSet's or ControllerRevision's), once it exists. */
  revisionOf(template: V1PodTemplateSpec): string | undefined
  /**
   * After the restore patch, while the rollback is watched: anything the controller will not do by itself for the
   * old template to come back (a StatefulSet's forced rollback). Ends when `signal` aborts.
   */
  whileRestoring?(ctx: RestoreContext): Promise<void>
}

export interface RestoreContext {
  clients: KubeClients
  snapshot: Snapshot
  /** The template our patch produced (the bad one). */
  bad: V1PodTemplateSpec
  /** The generation the restore produced. */
  restoredGeneration: number
  log: Logger
  clock: () => number
  /** Aborted when the rollback watch ends. */
  signal: AbortSignal
}

export interface WorkloadKind {
  kind: WorkloadKindName
  /** Why this workload cannot be released safely as it is (nothing changed yet), or undefined. */
  refuse(object: WorkloadObject): string | undefined
  /** One line for the preflight log, e.g. "revision 3, 3 replicas". */
  describe(object: WorkloadObject, snapshot: Snapshot): string
  traps(object: WorkloadObject, containers: string[]): Trap[]
  /** What the identity must be allowed to do for this kind (besides pods, logs and events). */
  permissions: Permission[]
  watch(opts: WatchOptions): WorkloadWatch
}
