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
