// A small line diff (longest common subsequence) for showing what a patch changes in the pod template. Pure.

export function diffLines(before: string, after: string, context = 3): string {
  const a = before.split('\n')
  const b = after.split('\n')
  const n = a.length
  const m = b.length
  // LCS lengths from the end; templates are small (hundreds of lines), so O(n·m) is fine.
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
    }
  }
  const ops: { kind: ' ' | '-' | '+'; line: string }[] = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i]! })
      i++
      j++
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ kind: '-', line: a[i]! })
      i++
    } else {
      ops.push({ kind: '+', line: b[j]! })
      j++
    }
  }
  const changed = ops.map((o, k) => (o.kind !== ' ' ? k : -1)).filter((k) => k >= 0)
  if (changed.length === 0) return ''
  const keep = new Set<number>()
  for (const k of changed)
    for (let x = Math.max(0, k - context); x <= Math.min(ops.length - 1, k + context); x++) keep.add(x)
  const out: string[] = []
  let last = -1
  for (let k = 0; k < ops.length; k++) {
    if (!keep.has(k)) continue
    if (last >= 0 && k !== last + 1) out.push('…')
    out.push(`${ops[k]!.kind} ${ops[k]!.line}`)
    last = k
  }
  return out.join('\n')
}

type EnvEntry = { name?: string; value?: unknown }
type Containers = { name?: string; env?: EnvEntry[] }[]

/**
 * The two templates of a diff with every env `value` hidden: a diff is shown in a PR comment and a job summary, and
 * an env value is often a credential. Names stay, and a value that differs says so ("(hidden, changed)"), so the diff
 * still shows which variables a change touches.
 */
export function hideEnvValues<T>(before: T, after: T): [T, T] {
  const b = structuredClone(before) as { spec?: Record<string, Containers | undefined> }
  const a = structuredClone(after) as { spec?: Record<string, Containers | undefined> }
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    const old = new Map<string, unknown>()
    for (const c of b.spec?.[list] ?? []) {
      for (const e of c.env ?? []) {
        if (e.value === undefined) continue
        old.set(`${c.name}/${e.name}`, e.value)
        e.value = '(hidden)'
      }
    }
    for (const c of a.spec?.[list] ?? []) {
      for (const e of c.env ?? []) {
        if (e.value === undefined) continue
        const key = `${c.name}/${e.name}`
        e.value = old.has(key) && old.get(key) === e.value ? '(hidden)' : '(hidden, changed)'
      }
    }
  }
  return [b as T, a as T]
}
