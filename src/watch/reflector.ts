// A minimal reflector on client-node's Watch: list, then watch from the list's resourceVersion, keeping a cache by
// UID and the last resourceVersion seen (events and bookmarks).
//
// Two kinds of break, handled differently:
// - A quiet end (the server closed the watch at its timeout, or nothing came for the inactivity timeout): the
//   cache is still exact up to the last resourceVersion, so the watch is re-opened from there at once and the cache
//   stays synced — a quiet release never goes blind.
// - A real failure (410 Gone, an ERROR event, a dropped or refused connection, a watch that ends at once): the cache
//   is marked unsynced immediately, then re-listed and re-watched with back-off, so nobody ever reads a cache that
//   silently stopped following the cluster. The back-off starts again from its first step after each success.
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
  clock?: () => number
}

/** A watch that ends quietly sooner than this after it opened, with nothing delivered, counts as a failure. */
const MIN_QUIET_WATCH_MS = 1000
const MAX_RETRY_MS = 5000

export class Reflector<T extends KubernetesObject> {
  readonly items = new Map<string, T>()
  private synced = false
  private stopped = false
  private abort?: AbortController
  private generation = 0
  private failures = 0
  private resourceVersion?: string
  /** How many times the watch broke and the cache was re-listed (for tests and diagnostics). */
  resyncs = 0
  /** How many times a quiet watch was re-opened from the last resourceVersion without a re-list. */
  rewatches = 0

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

  private now(): number {
    return (this.opts.clock ?? Date.now)()
  }

  /** List, replace the cache, watch from the list's resourceVersion. */
  private async sync(): Promise<void> {
    const generation = ++this.generation
    this.synced = false
    const list = await this.opts.list()
    if (this.stopped || generation !== this.generation) return
    this.items.clear()
    for (const item of list.items) if (item.metadata?.uid) this.items.set(item.metadata.uid, item)
    this.resourceVersion = list.metadata?.resourceVersion
    if (!(await this.openWatch(generation))) return
    this.failures = 0
    this.synced = true
    this.opts.onChange()
  }

  /** Opens a watch from the last resourceVersion; false when it was superseded meanwhile (stop, restart). */
  private async openWatch(generation: number): Promise<boolean> {
    const openedMs = this.now()
    let delivered = false
    const abort = await this.opts.watch.watch(
      this.opts.path,
      { ...this.opts.query, resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
      (phase, obj: T) => {
        if (generation !== this.generation) return
        if (phase === 'ERROR') {
          // e.g. 410 Gone: our resourceVersion is too old. Start over from a fresh list.
          this.restart(`watch ${this.opts.path} answered ${(obj as { code?: number }).code ?? 'an error'}`)
          return
        }
        delivered = true
        this.failures = 0
        const rv = obj.metadata?.resourceVersion
        if (rv) this.resourceVersion = rv
        if (phase === 'BOOKMARK') return
        const uid = obj.metadata?.uid
        if (!uid) return
        if (phase === 'DELETED') this.items.delete(uid)
        else this.items.set(uid, obj)
        this.opts.onChange()
      },
      (err: unknown) => {
        if (generation !== this.generation || this.stopped) return
        const quiet = err === null || err === undefined || (err as { name?: string }).name === 'TimeoutError'
        if (quiet && (delivered || this.now() - openedMs >= MIN_QUIET_WATCH_MS)) {
          this.rewatch(generation)
          return
        }
        this.restart(
          err
            ? `watch ${this.opts.path} broke: ${(err as Error).message ?? String(err)}`
            : `watch ${this.opts.path} ended at once`
        )
      }
    )
    if (this.stopped || generation !== this.generation) {
      abort.abort()
      return false
    }
    this.abort = abort
    return true
  }

  /** A quiet watch ended: re-open it from the last resourceVersion, staying synced (the cache is still exact). */
  private rewatch(generation: number): void {
    this.rewatches++
    this.openWatch(generation).catch((e: unknown) =>
      this.restart(`re-watch of ${this.opts.path} failed: ${(e as Error).message}`)
    )
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
    const delay = Math.min(MAX_RETRY_MS, (this.opts.retryDelayMs ?? 200) * 2 ** this.failures++)
    setTimeout(() => {
      this.sync().catch((e: unknown) => this.restart(`re-list of ${this.opts.path} failed: ${(e as Error).message}`))
    }, delay)
  }
}
