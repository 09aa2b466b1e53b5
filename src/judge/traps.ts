// Rollout traps: template settings that make a release unsafe to judge or to roll out. Pure; used in check mode
// (PR status check) and printed as warnings before a release.
import type { V1Deployment } from '@kubernetes/client-node'
import { rolloutBudget } from './strategy.js'

export interface Trap {
  /** Short code, e.g. 'no-readiness-probe'. */
  code: string
  message: string
}

function hasDigest(image: string): boolean {
  return /@sha256:[0-9a-f]{64}$/.test(image)
}

function tagOf(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? image
  const lastSlash = withoutDigest.lastIndexOf('/')
  const colon = withoutDigest.lastIndexOf(':')
  return colon > lastSlash ? withoutDigest.slice(colon + 1) : undefined
}

/** `targets` are the container names the release changes. */
export function findRolloutTraps(d: V1Deployment, targets: string[]): Trap[] {
  const traps: Trap[] = []
  const spec = d.spec
  const replicas = spec?.replicas ?? 1
  const containers = spec?.template?.spec?.containers ?? []
  const all = [...(spec?.template?.spec?.initContainers ?? []), ...containers]

  for (const c of containers.filter((x) => targets.includes(x.name))) {
    if (!c.readinessProbe) {
      traps.push({
        code: 'no-readiness-probe',
        message: `container "${c.name}" has no readinessProbe: a pod counts as available as soon as it starts, so a broken release looks healthy`
      })
    }
    if (!c.resources?.limits || Object.keys(c.resources.limits).length === 0) {
      traps.push({
        code: 'no-resource-limits',
        message: `container "${c.name}" has no resource limits: one bad release can starve its node`
      })
    }
  }

  if (spec?.paused === true) {
    traps.push({
      code: 'paused',
      message:
        'the Deployment is paused (spec.paused: true): a release is refused until it is resumed, since it would never roll out'
    })
  }

  const strategy = spec?.strategy
  if (strategy?.type === 'Recreate') {
    traps.push({
      code: 'recreate-strategy',
      message:
        'strategy Recreate stops every old pod before a new one runs: each release has downtime and a rollback is slow'
    })
  } else {
    const maxUnavailable = strategy?.rollingUpdate?.maxUnavailable
    if (rolloutBudget(spec).maxUnavailable >= replicas && replicas > 0) {
      traps.push({
        code: 'max-unavailable-all',
        message: `maxUnavailable ${String(maxUnavailable)} lets all ${replicas} replica${replicas === 1 ? '' : 's'} go at once: the service is down while the release starts`
      })
    }
  }

  if (spec?.progressDeadlineSeconds === undefined || spec.progressDeadlineSeconds === 600) {
    traps.push({
      code: 'default-progress-deadline',
      message:
        'progressDeadlineSeconds is the default 600s: without Rollout Guard a stuck rollout is only noticed after 10 minutes; set it to what a release really needs'
    })
  }

  for (const c of all) {
    const image = c.image ?? ''
    if (targets.includes(c.name)) continue
    const tag = tagOf(image)
    if (!hasDigest(image) && (tag === undefined || tag === 'latest')) {
      traps.push({
        code: 'mutable-tag',
        message: `container "${c.name}" runs "${image}": a mutable tag (${tag ?? 'no tag = latest'}) means the bytes can change without a release`
      })
    }
    if (!hasDigest(image) && c.imagePullPolicy === 'IfNotPresent' && tag === 'latest') {
      traps.push({
        code: 'pull-policy-hides-update',
        message: `container "${c.name}" pulls "${image}" only if not present: nodes keep running an old image under the same tag`
      })
    }
  }
  for (const c of all.filter((x) => targets.includes(x.name))) {
    if (c.imagePullPolicy === 'Never') {
      traps.push({
        code: 'pull-policy-never',
        message: `container "${c.name}" has imagePullPolicy Never: the new image is never pulled`
      })
    }
  }
  return traps
}
