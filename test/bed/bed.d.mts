// Types for the parts of bed.mjs the TypeScript e2e tests import (fault injection on one component).
export type Component =
  | 'etcd'
  | 'apiserver'
  | 'controller-manager'
  | 'scheduler'
  | 'kwok'
  | 'registry'
  | 'dockerd'
  | 'controller'
  | 'prometheus'
  | 'exporter'
  | SecondClusterComponent
/** The second cluster's components (startSecondCluster). */
export type SecondClusterComponent = 'apiserver-2' | 'controller-manager-2' | 'scheduler-2' | 'kwok-2' | 'controller-2'

/** A second control plane beside the bed (startSecondCluster). */
export interface SecondCluster {
  /** Its kube-apiserver, https://127.0.0.1:<port>. */
  apiServer: string
  /** A kubeconfig of the second cluster alone (admin). */
  kubeconfig: string
  /** A kubeconfig with both clusters: contexts `bed-1` (the first, current) and `bed-2`. */
  kubeconfigBoth: string
  contexts: string[]
  /** Where the second cluster's pod log files are (as BedState.logsDir for the first). */
  logsDir: string
}

/**
 * Starts a second control plane beside the running bed (own apiserver on its own port and etcd prefix, own
 * controller-manager, scheduler, KWOK nodes and bed controller); reuses a healthy one. down() stops it.
 */
export function startSecondCluster(): Promise<SecondCluster>
/** Stops the second cluster only. */
export function stopSecondCluster(): Promise<void>

/** SIGKILLs the component's process group and waits until it is gone. */
export function kill(name: Component): Promise<void>
/** Starts the component again with its recorded command; resolves with the new PID once it serves. */
export function restart(name: Component, timeoutMs?: number): Promise<number>
/** SIGSTOP: sockets stay open, nothing answers. */
export function freeze(name: Component): Promise<void>
/** SIGCONT. */
export function thaw(name: Component): Promise<void>
/** Thaws the component, and restarts it when it is gone. */
export function ensureRunning(name: Component): Promise<void>
/** Starts the bed's Prometheus and its metrics exporter on first ask; resolves with Prometheus' base URL. */
export function prometheus(): Promise<string>
