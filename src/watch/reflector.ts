// A minimal reflector on client-node's Watch: list, then watch from the list's resourceVersion, keeping a cache by
// UID. Any break (410 Gone, a dropped connection, the server's watch timeout) marks the cache unsynced, re-lists and
// re-watches, so nobody ever reads a cache that silently stopped following the cluster.
import type { KubernetesObject, Watch } from '@kubernetes/client-node'

export interface ListResult<T> {
  items: T[]
  metadata?: { resourceVersion?: string }
}

export interface ReflectorOptions<T> {
  watch: Watch
  /** API path to watch, e.g. /apis/apps/v1/namespaces/shop/replicasets */
  path: string
  query: Record<string, string>
  list: () => Promise<ListResult<T>>
  /** Called after every change to the cache (and after each re-sync). */
  onChange: () => void
  log: (message: string) => void
  /** First delay before a re-list after a failure; doubles up to 5 s. */
  retryDelayMs?: number
}

export class Reflector<T extends KubernetesObject> {
  readonly items = new Map<string, T>()
  private synced = false
  private stopped = false
  private abort?: AbortController
  private generation = 0
  private failures = 0
  /** How many times the watch broke and was re-established (for tests and diagnostics). */
  resyncs = 0

  constructor(private readonly opts: ReflectorOptions<T>) {}

  get isSynced(): boolean {
    return this.synced
  }

  async start(): Promise<void> {
    await this.sync()
  }

  stop(): void {
    this.stopped = true
    this.synced = false
    this.abort?.abort()
  }

  private async sync(): Promise<void> {
    const generation = ++this.generation
    this.synced = false
    const list = await this.opts.list()
    if (this.stopped || generation !== this.generation) return
    this.items.clear()
    for (const item of list.items) if (item.metadata?.uid) this.items.set(item.metadata.uid, item)
    const abort = await this.opts.watch.watch(
      this.opts.path,
      { ...this.opts.query, resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (phase, obj: T) => {
        if (generation !== this.generation) return
        if (phase === 'ERROR') {
          // e.g. 410 Gone: our resourceVersion is too old. Start over from a fresh list.
          this.restart(`watch ${this.opts.path} answered ${(obj as { code?: number }).code ?? 'an error'}`)
          return
        }
        if (phase === 'BOOKMARK') return
        const uid = obj.metadata?.uid
        if (!uid) return
        if (phase === 'DELETED') this.items.delete(uid)
        else this.items.set(uid, obj)
        this.failures = 0
        this.opts.onChange()
      },
      (err: unknown) => {
        if (generation !== this.generation || this.stopped) return
        this.restart(err ? `watch ${this.opts.path} broke: ${(err as Error).message ?? err}` : undefined)
      }
    )
    if (this.stopped || generation !== this.generation) {
      abort.abort()
      return
    }
    this.abort = abort
    this.synced = true
    this.opts.onChange()
  }

  private restart(why?: string): void {
    if (this.stopped) return
    this.generation++
    this.synced = false
    this.resyncs++
    const old = this.abort
    this.abort = undefined
    try {
      old?.abort()
    } catch {
      /* already closed */
    }
    if (why) this.opts.log(`${why}; re-listing`)
    this.opts.onChange()
    const delay = Math.min(5000, (this.opts.retryDelayMs ?? 200) * 2 ** this.failures++)
    setTimeout(() => {
      this.sync().catch((e: unknown) => this.restart(`re-list of ${this.opts.path} failed: ${(e as Error).message}`))
    }, delay)
  }
}
