import { afterEach, describe, expect, jest, test } from '@jest/globals'
import type { KubernetesObject, Watch } from '@kubernetes/client-node'
import { Reflector } from '../../src/watch/reflector.js'

type Callback = (phase: string, obj: KubernetesObject) => void
type Done = (err: unknown) => void

/** A scripted Watch: records each watch call and lets the test push events or end the stream. */
class ScriptedWatch {
  calls: { query: Record<string, unknown>; callback: Callback; done: Done; aborted: boolean }[] = []
  async watch(_path: string, query: Record<string, unknown>, callback: Callback, done: Done): Promise<AbortController> {
    const call = { query, callback, done, aborted: false }
    this.calls.push(call)
    const abort = new AbortController()
    abort.signal.addEventListener('abort', () => (call.aborted = true))
    return abort
  }
  get last() {
    return this.calls[this.calls.length - 1]!
  }
}

const pod = (uid: string, rv: string): KubernetesObject => ({ metadata: { uid, resourceVersion: rv, name: uid } })
const settle = () => new Promise((r) => setTimeout(r, 30))

function setup(
  lists: { items: KubernetesObject[]; rv: string }[],
  opts: { clock?: () => number; retryDelayMs?: number; failLists?: number } = {}
) {
  const watch = new ScriptedWatch()
  let listCalls = 0
  let failLists = opts.failLists ?? 0
  const changes: boolean[] = []
  const logs: string[] = []
  const reflector: Reflector<KubernetesObject> = new Reflector({
    watch: watch as unknown as Watch,
    path: '/api/v1/namespaces/x/pods',
    query: { labelSelector: 'app=web' },
    list: async () => {
      if (listCalls > 0 && failLists > 0) {
        failLists--
        listCalls++
        throw new Error('connection refused')
      }
      const l = lists[Math.min(listCalls++, lists.length - 1)]!
      return { items: l.items, metadata: { resourceVersion: l.rv } }
    },
    onChange: () => changes.push(reflector.isSynced),
    log: (m) => logs.push(m),
    retryDelayMs: opts.retryDelayMs ?? 1,
    clock: opts.clock
  })
  return { watch, reflector, changes, logs, listCalls: () => listCalls }
}

describe('Reflector', () => {
  test('lists, then watches from the list resourceVersion with the query', async () => {
    const { watch, reflector } = setup([{ items: [pod('a', '5')], rv: '10' }])
    await reflector.start()
    expect(reflector.isSynced).toBe(true)
    expect([...reflector.items.keys()]).toEqual(['a'])
    expect(watch.last.query).toEqual({ labelSelector: 'app=web', resourceVersion: '10', allowWatchBookmarks: true })
  })

  test('applies ADDED / MODIFIED / DELETED and ignores BOOKMARK', async () => {
    const { watch, reflector } = setup([{ items: [pod('a', '5')], rv: '10' }])
    await reflector.start()
    watch.last.callback('ADDED', pod('b', '11'))
    watch.last.callback('MODIFIED', pod('a', '12'))
    watch.last.callback('BOOKMARK', { metadata: { resourceVersion: '13' } })
    watch.last.callback('DELETED', pod('b', '14'))
    expect([...reflector.items.values()].map((p) => p.metadata?.resourceVersion)).toEqual(['12'])
  })

  test('410 Gone: unsynced at once, then a fresh list replaces the cache and the watch resumes from it', async () => {
    const { watch, reflector, changes, listCalls } = setup([
      { items: [pod('a', '5')], rv: '10' },
      { items: [pod('c', '30')], rv: '31' }
    ])
    await reflector.start()
    const first = watch.last
    first.callback('ERROR', { code: 410 } as unknown as KubernetesObject)
    expect(reflector.isSynced).toBe(false)
    expect(changes[changes.length - 1]).toBe(false)
    expect(first.aborted).toBe(true)
    await settle()
    expect(listCalls()).toBe(2)
    expect(reflector.isSynced).toBe(true)
    expect([...reflector.items.keys()]).toEqual(['c'])
    expect(watch.last.query.resourceVersion).toBe('31')
    // Events from the old, aborted watch no longer touch the cache.
    first.callback('ADDED', pod('zombie', '99'))
    expect(reflector.items.has('zombie')).toBe(false)
    expect(reflector.resyncs).toBe(1)
  })

  test('a dropped connection re-lists too', async () => {
    const { watch, reflector, logs, listCalls } = setup([{ items: [], rv: '1' }])
    await reflector.start()
    watch.last.done(new Error('socket hang up'))
    expect(reflector.isSynced).toBe(false)
    await settle()
    expect(listCalls()).toBe(2)
    expect(reflector.isSynced).toBe(true)
    expect(logs[0]).toMatch(/socket hang up; re-listing/)
  })

  test('stop ends the watch and nothing restarts', async () => {
    const { watch, reflector, listCalls } = setup([{ items: [], rv: '1' }])
    await reflector.start()
    reflector.stop()
    expect(watch.last.aborted).toBe(true)
    watch.last.done(new Error('aborted'))
    await settle()
    expect(listCalls()).toBe(1)
    expect(reflector.isSynced).toBe(false)
  })

  describe('a quiet watch does not go blind', () => {
    test.each([
      ['the server closed it at its timeout', null],
      [
        'nothing came for the inactivity timeout',
        new DOMException('The operation was aborted due to timeout', 'TimeoutError')
      ]
    ])(
      '%s: re-watched from the last resourceVersion (bookmarks too), synced throughout, no re-list',
      async (_name, err) => {
        const { watch, reflector, changes, listCalls } = setup([{ items: [pod('a', '5')], rv: '10' }])
        await reflector.start()
        watch.last.callback('MODIFIED', pod('a', '12'))
        watch.last.callback('BOOKMARK', { metadata: { resourceVersion: '40' } })
        const before = changes.length
        watch.last.done(err)
        expect(reflector.isSynced).toBe(true)
        await settle()
        expect(watch.calls).toHaveLength(2)
        expect(watch.last.query.resourceVersion).toBe('40')
        expect(listCalls()).toBe(1)
        expect(reflector.isSynced).toBe(true)
        expect(changes.slice(before)).not.toContain(false)
        expect(reflector.rewatches).toBe(1)
        expect(reflector.resyncs).toBe(0)
        // The cache goes on following the new watch.
        watch.last.callback('ADDED', pod('b', '41'))
        expect([...reflector.items.keys()].sort()).toEqual(['a', 'b'])
      }
    )

    test('a watch that ends at once with nothing delivered is a failure: unsynced and re-listed', async () => {
      let now = 1_000
      const { watch, reflector, listCalls } = setup([{ items: [], rv: '1' }], { clock: () => now })
      await reflector.start()
      now += 10
      watch.last.done(null)
      expect(reflector.isSynced).toBe(false)
      await settle()
      expect(listCalls()).toBe(2)
      expect(reflector.isSynced).toBe(true)
    })

    test('a quiet watch that lived long enough is re-watched even with nothing delivered', async () => {
      let now = 1_000
      const { watch, reflector, listCalls } = setup([{ items: [], rv: '7' }], { clock: () => now })
      await reflector.start()
      now += 30_000
      watch.last.done(null)
      await settle()
      expect(listCalls()).toBe(1)
      expect(watch.last.query.resourceVersion).toBe('7')
      expect(reflector.isSynced).toBe(true)
    })
  })

  describe('back-off', () => {
    afterEach(() => {
      jest.useRealTimers()
    })

    test('doubles while re-lists fail, and starts again from its first step after a success', async () => {
      jest.useFakeTimers()
      const { watch, reflector, listCalls } = setup([{ items: [], rv: '1' }], { retryDelayMs: 100, failLists: 3 })
      await reflector.start()
      watch.last.done(new Error('socket hang up'))
      // Re-lists at +100 (fails), +200 (fails), +400 (fails), +800 (succeeds).
      await jest.advanceTimersByTimeAsync(100)
      expect(listCalls()).toBe(2)
      await jest.advanceTimersByTimeAsync(200)
      expect(listCalls()).toBe(3)
      await jest.advanceTimersByTimeAsync(400)
      expect(listCalls()).toBe(4)
      await jest.advanceTimersByTimeAsync(800)
      expect(listCalls()).toBe(5)
      expect(reflector.isSynced).toBe(true)
      // The next break waits the first step again, not 1.6 s.
      watch.last.done(new Error('socket hang up'))
      await jest.advanceTimersByTimeAsync(100)
      expect(listCalls()).toBe(6)
      expect(reflector.isSynced).toBe(true)
      reflector.stop()
    })
  })
})
