// Diagnostics for failing pods, krane-style: reason, message, exit code, restarts, recent events, last log lines.
// Best effort: a diagnostic that cannot be fetched is left out, it never changes the verdict.
import type { PodFailure } from '../model/index.js'
import type { EventSummary, PodDiagnostic } from '../result.js'
import type { KubeClients } from './client.js'

const LOG_TAIL_LINES = 25
const MAX_PODS = 5

function isoTime(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined
  const date = value instanceof Date ? value : new Date(value)
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString()
}

async function eventsFor(clients: KubeClients, namespace: string, name: string): Promise<EventSummary[]> {
  try {
    const list = await clients.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })
    return list.items
      .map((e) => ({
        type: e.type ?? '',
        reason: e.reason ?? '',
        message: e.message ?? '',
        count: e.count ?? 1,
        lastSeen: isoTime(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp)
      }))
      .slice(-10)
  } catch {
    return []
  }
}

async function logTail(
  clients: KubeClients,
  namespace: string,
  pod: string,
  container: string | undefined,
  previous: boolean
) {
  try {
    const text = await clients.core.readNamespacedPodLog({
      name: pod,
      namespace,
      container,
      tailLines: LOG_TAIL_LINES,
      previous
    })
    return String(text ?? '')
      .split('\n')
      .filter((l, i, all) => l !== '' || i < all.length - 1)
  } catch {
    return []
  }
}

export async function collectDiagnostics(
  clients: KubeClients,
  namespace: string,
  failures: PodFailure[]
): Promise<PodDiagnostic[]> {
  const byPod = new Map<string, PodFailure>()
  for (const f of failures) if (!byPod.has(f.pod)) byPod.set(f.pod, f)
  const chosen = [...byPod.values()].slice(0, MAX_PODS)
  return Promise.all(
    chosen.map(async (f) => {
      const crashed = f.restarts > 0
      let tail = await logTail(clients, namespace, f.pod, f.container, crashed)
      if (crashed && tail.length === 0) tail = await logTail(clients, namespace, f.pod, f.container, false)
      return {
        pod: f.pod,
        container: f.container,
        reason: f.reason,
        message: f.message,
        exitCode: f.exitCode,
        restarts: f.restarts,
        events: await eventsFor(clients, namespace, f.pod),
        logTail: tail
      }
    })
  )
}
