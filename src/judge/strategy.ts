// A Deployment's rolling-update budget resolved to pod counts, by the controller's own rules
// (k8s.io/kubernetes pkg/controller/deployment/util ResolveFenceposts): maxSurge rounds up, maxUnavailable rounds
// down, both default to 25%, and when both resolve to 0 maxUnavailable becomes 1. Recreate takes every pod down.
import type { V1DeploymentSpec } from '@kubernetes/client-node'

export interface RolloutBudget {
  maxSurge: number
  maxUnavailable: number
}

function resolve(value: number | string | undefined, replicas: number, roundUp: boolean): number {
  const v = value ?? '25%'
  if (typeof v === 'number') return v
  const percent = /^(\d+)%$/.exec(v.trim())
  if (!percent) return Number.parseInt(v, 10) || 0
  const exact = (replicas * Number(percent[1])) / 100
  return roundUp ? Math.ceil(exact) : Math.floor(exact)
}

export function rolloutBudget(spec: Pick<V1DeploymentSpec, 'replicas' | 'strategy'> | undefined): RolloutBudget {
  const replicas = spec?.replicas ?? 1
  if (spec?.strategy?.type === 'Recreate') return { maxSurge: 0, maxUnavailable: replicas }
  const rolling = spec?.strategy?.rollingUpdate
  const maxSurge = resolve(rolling?.maxSurge, replicas, true)
  const maxUnavailable = resolve(rolling?.maxUnavailable, replicas, false)
  return { maxSurge, maxUnavailable: maxSurge === 0 && maxUnavailable === 0 ? 1 : maxUnavailable }
}
