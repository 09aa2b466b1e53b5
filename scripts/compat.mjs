// `npm run compat`: the Kubernetes version matrix. For each Kubernetes release (default: the oldest and the newest the
// README promises), a test bed of exactly that release is built from its Go modules (cached by version, like the
// default bed) and started in its own folder, and a smoke set of the end-to-end tests runs against it: API discovery
// of everything the engine uses, a good release, a crash-loop rolled back, a StatefulSet, a train, a canary and the
// release lock. Writes docs/compat.md (the table) and the tested range into the README between the compat markers.
//
// Environment: ROLLOUT_GUARD_COMPAT_VERSIONS (comma list, default below), ROLLOUT_GUARD_COMPAT_WRITE=0 (print only).
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const say = (m) => process.stdout.write(`\n\x1b[1m[compat] ${m}\x1b[0m\n`)

/**
 * The oldest: v1.30 is the oldest Kubernetes minor the bed can build here. The Go module proxy this project builds from
 * serves k8s.io/kubernetes back to v1.29.6, but v1.29 needs k8s.io/legacy-cloud-providers@v0.29.6, which it does not
 * serve, so that build fails; v1.30.14 (the newest v1.30 patch there) builds with the Go here. API discovery
 * (test/e2e/compat.test.ts) shows it serves every API the engine uses. The newest: the bed's default
 * (test/bed/build-binaries.sh).
 */
const DEFAULT_VERSIONS = ['v1.30.14', 'v1.37.2']

/** The smoke set: [file, test names] — each an existing end-to-end test, run unchanged. */
const SMOKE = [
  ['test/e2e/compat.test.ts', ['every permission the engine checks names an API the cluster serves']],
  [
    'test/e2e/release.test.ts',
    ['good release through buildx with three tags', 'crash-looping release (progress deadline 600s)']
  ],
  ['test/e2e/kinds.test.ts', ['crash-looping release → rolled back: the broken pod deleted']],
  ['test/e2e/train.test.ts', ['three stages, billing (stage 2) bad', 'two runs on one Deployment 1 s apart']],
  ['test/e2e/canary.test.ts', ['the canary crash-loops → deleted']]
]

const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

async function runSmoke(version) {
  const dir = await mkdtemp(join(tmpdir(), `rollout-guard-compat-${version}-`))
  const report = join(dir, 'jest.json')
  const names = SMOKE.flatMap(([, tests]) => tests)
  const args = [
    join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
    '--selectProjects',
    'e2e',
    '--runInBand',
    '--json',
    `--outputFile=${report}`,
    '-t',
    names.map(escapeRegex).join('|'),
    ...SMOKE.map(([file]) => file)
  ]
  const started = Date.now()
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules`.trim(),
      ROLLOUT_GUARD_K8S_VERSION: version,
      // Its own bed (own folder, ports and processes), started and stopped by this run; a running default bed is
      // left alone.
      ROLLOUT_GUARD_BED_DIR: join(dir, 'bed'),
      ROLLOUT_GUARD_KEEP_BED: '0'
    }
  })
  const code = await new Promise((resolve) => child.on('close', resolve))
  let tests = []
  try {
    const json = JSON.parse(await readFile(report, 'utf8'))
    tests = json.testResults.flatMap((file) =>
      file.assertionResults
        .filter((t) => t.status !== 'pending')
        .map((t) => ({
          file: file.name.slice(root.length + 1),
          name: t.title,
          status: t.status,
          seconds: Math.round((t.duration ?? 0) / 100) / 10
        }))
    )
  } catch {
    /* no report: the bed never came up; the exit code says it */
  }
  await rm(dir, { recursive: true, force: true })
  return { version, exitCode: code, seconds: Math.round((Date.now() - started) / 1000), tests }
}

function minor(version) {
  return version.replace(/^(v\d+\.\d+)\..*$/, '$1')
}

function markdown(results, meta) {
  const lines = [
    '# Kubernetes versions',
    '',
    'Made by `npm run compat` ([scripts/compat.mjs](../scripts/compat.mjs)): for each Kubernetes release, a test bed of',
    'exactly that release (kube-apiserver, kube-controller-manager and kube-scheduler built from `k8s.io/kubernetes`',
    'at that version, etcd, KWOK nodes) and a smoke set of the end-to-end tests, run unchanged. Back to the',
    '[README](../README.md#scope-and-limits).',
    '',
    `Run ${meta.date} on ${meta.machine}, Node ${process.version}, ${meta.go}.`,
    '',
    `| test | ${results.map((r) => `${r.version}`).join(' | ')} |`,
    `| --- | ${results.map(() => '---').join(' | ')} |`
  ]
  const names = SMOKE.flatMap(([file, tests]) => tests.map((t) => [file, t]))
  for (const [file, name] of names) {
    const cells = results.map((r) => {
      const t = r.tests.find((x) => x.file === file && x.name.startsWith(name))
      if (!t) return 'not run'
      return t.status === 'passed' ? `passed (${t.seconds} s)` : t.status
    })
    lines.push(`| ${file.replace('test/e2e/', '')}: ${name} | ${cells.join(' | ')} |`)
  }
  lines.push(
    `| **all** | ${results.map((r) => (r.exitCode === 0 ? `**passed** (${r.seconds} s with the bed)` : `**failed** (exit ${r.exitCode})`)).join(' | ')} |`,
    '',
    'Why these: the oldest is the oldest Kubernetes minor the bed can build here. The Go module proxy this project',
    'builds from serves `k8s.io/kubernetes` back to v1.29.6, but v1.29 needs `k8s.io/legacy-cloud-providers@v0.29.6`,',
    'which it does not serve; v1.30.14 builds. API discovery (`test/e2e/compat.test.ts`) shows it serves every API,',
    'resource and verb the engine uses (`apps/v1`, `coordination.k8s.io/v1` Leases, `discovery.k8s.io/v1`',
    "EndpointSlices, `authorization.k8s.io/v1` access reviews, pods and their logs). The newest is the bed's default.",
    'Releases in between were not run; older ones could not be built here and are not promised.',
    ''
  )
  return lines.join('\n')
}

async function goVersion() {
  return new Promise((resolve) => {
    const child = spawn('go', ['version'], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('close', () =>
      resolve(
        out
          .trim()
          .replace(/^go version go/, 'Go ')
          .replace(/ linux\/.*$/, '')
      )
    )
    child.on('error', () => resolve('Go (not found)'))
  })
}

const versions = (process.env.ROLLOUT_GUARD_COMPAT_VERSIONS ?? DEFAULT_VERSIONS.join(','))
  .split(',')
  .map((v) => v.trim())
  .filter(Boolean)
const results = []
for (const version of versions) {
  say(`Kubernetes ${version}: building (cached by version) and starting its bed, then the smoke set`)
  results.push(await runSmoke(version))
}
const meta = {
  date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  machine: `${cpus().length} cores`,
  go: await goVersion()
}
const md = markdown(results, meta)
process.stdout.write(`\n${md}\n`)
const passed = results.filter((r) => r.exitCode === 0)
if (process.env.ROLLOUT_GUARD_COMPAT_WRITE !== '0') {
  await writeFile(join(root, 'docs', 'compat.md'), md)
  const readmePath = join(root, 'README.md')
  const readme = await readFile(readmePath, 'utf8')
  const START = '<!-- compat:start -->'
  const END = '<!-- compat:end -->'
  const a = readme.indexOf(START)
  const b = readme.indexOf(END)
  if (a >= 0 && b > a && passed.length > 0) {
    const range =
      passed.length === 1
        ? `Kubernetes ${minor(passed[0].version)} (${passed[0].version})`
        : `Kubernetes ${minor(passed[0].version)} to ${minor(passed.at(-1).version)} (${passed.map((r) => r.version).join(' and ')} tested)`
    const line = `Tested on ${range} by \`npm run compat\` on ${meta.date.slice(0, 10)}: [docs/compat.md](docs/compat.md).`
    // Inside a list item of the README: indented as the item's text.
    await writeFile(readmePath, `${readme.slice(0, a + START.length)}\n  ${line}\n  ${readme.slice(b)}`)
  }
  say('wrote docs/compat.md and the README range')
}
process.exit(passed.length === results.length ? 0 : 1)
