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
