// Throughput check for the error-log judge (not a test): generates a kubelet-style log file (timestamps, mixed
// plain/JSON/logfmt lines, ~1% error events, some Java and Python stack traces, a few 1 MB lines), runs the
// LineSplitter → splitTimestamp → ErrorLineCounter pipeline over it, then times `grep -cE` with the same pattern on
// the same file for comparison, and deletes everything it wrote.
//
//   node scripts/bench-logs.mjs [--mb 200] [--keep]
//
// src/judge/logs.ts is TypeScript, so it is bundled on the fly with esbuild into the temp dir and imported from there.
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { setFlagsFromString } from 'node:v8'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function parseArgs(argv) {
  const args = { mb: 200, keep: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--mb') args.mb = Number(argv[++i])
    else if (arg.startsWith('--mb=')) args.mb = Number(arg.slice(5))
    else if (arg === '--keep') args.keep = true
    else throw new Error(`unknown argument ${arg}; usage: bench-logs.mjs [--mb N] [--keep]`)
  }
  if (!(args.mb > 0)) throw new Error('--mb must be a number > 0')
  return args
}

// Deterministic, so runs are comparable.
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const INFO = [
  (r) => `INFO  [http-nio-8080-exec-${r(20)}] c.e.shop.web.ItemController : GET /api/items/${r(99999)} 200 ${r(300)}ms`,
  (r) =>
    `{"time":"2026-11-24T20:01:02Z","level":"info","msg":"request done","path":"/api/cart/${r(9999)}","status":200,"latency_ms":${r(500)},"errors":0}`,
  (r) => `time=2026-11-24T20:01:02Z level=info msg="cache hit" key=user:${r(100000)} hits=${r(1000)} errors=0`,
  (r) => `2026/11/24 20:01:02 worker ${r(16)}: processed batch ${r(1000000)} in ${r(900)}ms (retries=0, error_count=0)`,
  (r) => `DEBUG [scheduler] next run in ${r(60)}s; queue depth ${r(500)}; no error`,
  (r) => `WARN  [pool] connection pool at ${r(100)}% of capacity, ${r(10)} waiting`
]

const ERRORS = [
  (r) => [`ERROR [http-nio-8080-exec-${r(20)}] c.e.shop.web.CartController : checkout failed for cart ${r(99999)}`],
  (r) => [
    `{"time":"2026-11-24T20:01:02Z","level":"error","msg":"payment declined","order":${r(999999)},"code":"E${r(99)}"}`
  ],
  (r) => [`time=2026-11-24T20:01:02Z level=error msg="upstream timeout" upstream=inventory after=${r(5000)}ms`],
  (r) => {
    const frames = 8 + r(12)
    const lines = [
      `ERROR [main] c.e.shop.OrderService : order ${r(99999)} failed`,
      'java.lang.IllegalStateException: inventory reservation expired'
    ]
    for (let i = 0; i < frames; i++)
      lines.push(`\tat com.example.shop.service.Layer${i}.call(Layer${i}.java:${r(400)})`)
    lines.push('Caused by: java.net.SocketTimeoutException: Read timed out')
    for (let i = 0; i < 4; i++)
      lines.push(`\tat java.base/java.net.Socket$SocketInputStream.read(Socket.java:${r(900)})`)
    lines.push(`\t... ${frames} more`)
    return lines
  },
  (r) => [
    'Traceback (most recent call last):',
    `  File "/app/worker.py", line ${r(300)}, in handle`,
    '    result = process(job)',
    `  File "/app/jobs.py", line ${r(300)}, in process`,
    "    return data['payload']",
    "KeyError: 'payload'"
  ]
]

async function generate(file, bytesWanted) {
  const rand = mulberry32(0x5eed)
  const r = (n) => Math.floor(rand() * n)
  const out = createWriteStream(file)
  const base = Date.UTC(2026, 10, 24, 20, 0, 0) * 1e6 // ns as a Number: precise enough for a fake clock
  let written = 0
  let lineNo = 0
  let events = 0
  let hugeLines = 0
  const stamp = () => {
    const ns = base + lineNo * 10_000 // 100 000 lines/s
    lineNo += 1
    const ms = Math.floor(ns / 1e6)
    const frac = String(Math.floor(ns % 1e6)).padStart(6, '0')
    return `${new Date(ms).toISOString().slice(0, 23)}${frac}Z`
  }
  while (written < bytesWanted) {
    let chunk = ''
    while (chunk.length < 1 << 20) {
      const roll = rand()
      let lines
      if (roll < 0.01) {
        lines = ERRORS[r(ERRORS.length)](r)
        events += 1
      } else if (roll < 0.01 + 1 / 100_000) {
        // A runaway line (a dumped payload): exercises truncation and discarding.
        lines = [`INFO payload dump ${'x'.repeat(1 << 20)}`]
        hugeLines += 1
      } else lines = [INFO[r(INFO.length)](r)]
      for (const line of lines) chunk += `${stamp()} ${line}\n`
    }
    written += Buffer.byteLength(chunk)
    if (!out.write(chunk)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return { lines: lineNo, events, hugeLines }
}

async function bundleLogs(dir) {
  const outfile = join(dir, 'logs.mjs')
  await build({
    entryPoints: [join(root, 'src/judge/logs.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    logLevel: 'warning'
  })
  return import(pathToFileURL(outfile).href)
}

function rssMb() {
  return process.memoryUsage().rss / 2 ** 20
}

async function run(file, logs, { count }) {
  const { LineSplitter, splitTimestamp, ErrorLineCounter, DEFAULT_ERROR_PATTERN } = logs
  const splitter = new LineSplitter()
  const counter = new ErrorLineCounter({ errorPattern: DEFAULT_ERROR_PATTERN })
  let lines = 0
  let truncated = 0
  let peakRss = rssMb()
  const started = process.hrtime.bigint()
  const cpuStarted = process.cpuUsage()
  const handle = (line) => {
    lines += 1
    if (line.truncated) truncated += 1
    if (count) counter.push('web-1', 'app', splitTimestamp(line.text).text, Math.floor(lines / 100))
  }
  let chunks = 0
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
    for (const line of splitter.push(chunk)) handle(line)
    if (++chunks % 64 === 0) peakRss = Math.max(peakRss, rssMb())
  }
  for (const line of splitter.flush()) handle(line)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = process.cpuUsage(cpuStarted)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  return { seconds, cpuSeconds, lines, truncated, errors: counter.total(), peakRss: Math.max(peakRss, rssMb()) }
}

function timeGrep(pattern, file, env) {
  const started = process.hrtime.bigint()
  // /usr/bin/time reports grep's CPU time: on a shared machine CPU seconds compare better than wall seconds.
  const result = spawnSync('/usr/bin/time', ['-f', 'rg-cpu %U %S', 'grep', '-cE', pattern, file], {
    env: { ...process.env, ...env },
    encoding: 'utf8'
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (result.error) return { error: result.error.message }
  const cpu = /rg-cpu (\S+) (\S+)\s*$/.exec(result.stderr)
  const stderr = result.stderr.replace(/rg-cpu \S+ \S+\s*$/, '').trim()
  if (result.status !== 0 && result.status !== 1) return { error: stderr }
  const cpuSeconds = cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN
  return { seconds, cpuSeconds, count: Number(result.stdout.trim()), warnings: stderr }
}

/** The JS pattern in POSIX ERE as GNU grep reads it: the pattern is written to need only `(?:` → `(`. */
function toGrepPattern(regex) {
  return regex.source.replaceAll('(?:', '(')
}

const fmt = (n, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits })

// The same young-generation setting as the CLI and the Action (src/runtime/heap.ts), so the scan runs as it does there.
setFlagsFromString('--semi-space-growth-factor=1')

const args = parseArgs(process.argv.slice(2))
const dir = await mkdtemp(join(tmpdir(), 'bench-logs-'))
const file = join(dir, 'pod.log')
try {
  console.log(`node ${process.version}, temp dir ${dir}`)
  let t = process.hrtime.bigint()
  const generated = await generate(file, args.mb * 2 ** 20)
  const bytes = (await stat(file)).size
  const mb = bytes / 2 ** 20
  console.log(
    `generated ${fmt(mb)} MB, ${fmt(generated.lines, 0)} lines, ${fmt(generated.events, 0)} error events, ` +
      `${generated.hugeLines} lines of 1 MB in ${fmt(Number(process.hrtime.bigint() - t) / 1e9, 2)} s`
  )

  t = process.hrtime.bigint()
  const logs = await bundleLogs(dir)
  console.log(`bundled src/judge/logs.ts with esbuild in ${fmt(Number(process.hrtime.bigint() - t) / 1e6, 0)} ms`)

  // Warm the page cache so neither side pays for the disk.
  await run(file, logs, { count: false })

  const report = (name, r) =>
    console.log(
      `${name.padEnd(34)} ${fmt(r.seconds, 2).padStart(7)} s  ${fmt(r.lines / r.seconds / 1e6, 2).padStart(6)} M lines/s  ` +
        `${fmt(mb / r.seconds).padStart(6)} MB/s  CPU ${fmt(r.cpuSeconds, 2)} s  ${r.errors === undefined ? '' : `errors ${fmt(r.errors, 0)}  `}` +
        `truncated ${r.truncated}  peak RSS ${fmt(r.peakRss, 0)} MB`
    )
  const split = await run(file, logs, { count: false })
  report('LineSplitter only', { ...split, errors: undefined })
  const counted = await run(file, logs, { count: true })
  report('split + timestamp + ErrorLineCounter', counted)

  const pattern = toGrepPattern(logs.DEFAULT_ERROR_PATTERN)
  for (const [name, env] of [
    ['grep -cE (LC_ALL=C)', { LC_ALL: 'C' }],
    [`grep -cE (LC_ALL=${process.env.LC_ALL ?? process.env.LANG ?? 'unset'})`, {}]
  ]) {
    const g = timeGrep(pattern, file, env)
    if (g.error !== undefined) console.log(`${name.padEnd(34)} failed: ${g.error}`)
    else {
      console.log(
        `${name.padEnd(34)} ${fmt(g.seconds, 2).padStart(7)} s  ${fmt(counted.lines / g.seconds / 1e6, 2).padStart(6)} M lines/s  ` +
          `${fmt(mb / g.seconds).padStart(6)} MB/s  CPU ${fmt(g.cpuSeconds, 2)} s  matching lines ${fmt(g.count, 0)}${g.warnings ? `  (${g.warnings})` : ''}`
      )
    }
  }
  console.log(
    'grep counts matching lines; the counter counts events (a stack trace once) and matches after the timestamp.'
  )
} finally {
  if (args.keep) console.log(`kept ${dir}`)
  else await rm(dir, { recursive: true, force: true })
}
