// The test bed: a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler built
// from Go modules), KWOK simulating nodes, pod states and pod logs, a real Docker daemon and a real registry with
// htpasswd auth — every listener on 127.0.0.1, every file under one bed folder, every process recorded by PID.
//
//   up()    builds the binaries once (cached outside the checkout), starts everything, writes bed.json; idempotent:
//           a healthy running bed is reused.
//   down()  stops every recorded process (by PID, whole process group) and removes the bed folder.
//   prometheus()  starts (once, on first ask: most tests do not need it) a metrics exporter (exporter.mjs) and a real
//           Prometheus (Debian's `prometheus`) scraping it every second, both on 127.0.0.1 only, data in the bed
//           folder; resolves with Prometheus' URL. Recorded like every component ('exporter', 'prometheus').
//   kill(name) / restart(name) / freeze(name) / thaw(name): fault injection on one component (e.g. 'apiserver',
//           'registry'): SIGKILL it, start it again with the very command it was started with (same flags, ports,
//           data), SIGSTOP / SIGCONT it. bed.json records each component's command and its current PID.
//
// Behaviour follows the image: see controller.mjs and pod-stages.yaml.
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createServer } from 'node:net'
import { randomBytes } from 'node:crypto'
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const execFileAsync = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))

export const BED_DIR = process.env.ROLLOUT_GUARD_BED_DIR ?? join(tmpdir(), 'rollout-guard-bed')
/** The Kubernetes release the control plane is built from (build-binaries.sh's default when unset). */
export const K8S_VERSION = process.env.ROLLOUT_GUARD_K8S_VERSION || undefined
const STATE_FILE = join(BED_DIR, 'bed.json')
export const REGISTRY_USER = 'bed'
const NODE_COUNT = 3
// Fake addresses only (no traffic ever goes there): outside 10/8, 172.16/12 and 192.168/16 on purpose.
const SERVICE_CIDR = '198.18.0.0/16'
const POD_CIDR = '198.19.0.0/16'

/** The second cluster's components, by their key in `pids` / `commands`. */
const SECOND = ['apiserver-2', 'controller-manager-2', 'scheduler-2', 'kwok-2', 'controller-2']

const log = (msg) => process.stderr.write(`[bed] ${msg}\n`)

/** @returns {Promise<BedState | undefined>} */
export async function readState() {
  try {
    return JSON.parse(await readFile(STATE_FILE, 'utf8'))
  } catch {
    return undefined
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // A killed process its parent has not reaped yet (a zombie) is gone for our purposes.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

async function healthy(state) {
  // A bed from before commands were recorded cannot restart its components: start a fresh one.
  if (!state?.commands) return false
  // The second cluster (startSecondCluster) is not part of the bed's health: a test that needs it starts it again.
  if (!Object.entries(state.pids).every(([name, pid]) => SECOND.includes(name) || alive(pid))) return false
  try {
    await kubectl(state, ['get', '--raw', '/readyz'], { timeout: 5000 })
    return true
  } catch {
    return false
  }
}

export async function kubectl(state, args, opts = {}) {
  const { stdout } = await execFileAsync(join(state.binDir, 'kubectl'), ['--kubeconfig', state.kubeconfig, ...args], {
    timeout: opts.timeout ?? 30000,
    maxBuffer: 64 * 1024 * 1024,
    input: opts.input
  })
  return stdout
}

/** kubectl with stdin (apply -f -). */
export function kubectlApply(state, manifest) {
  return new Promise((resolve, reject) => {
    const child = spawn(join(state.binDir, 'kubectl'), ['--kubeconfig', state.kubeconfig, 'apply', '-f', '-'], {
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl apply failed: ${err}`))))
    child.stdin.end(manifest)
  })
}

async function freePorts(n) {
  const servers = []
  const ports = []
  for (let i = 0; i < n; i++) {
    const server = createServer()
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
    ports.push(server.address().port)
  }
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}

async function run(cmd, args, opts = {}) {
  try {
    const { stdout } = await execFileAsync(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...opts })
    return stdout
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`)
  }
}

/** How each component was started (by its key in `pids`), so restart() can start it again exactly so. */
const commands = {}

function startProcess(name, cmd, args, env = {}) {
  const logFile = join(BED_DIR, 'logs', `${name}.log`)
  const fd = openSync(logFile, 'a')
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...env }
  })
  closeSync(fd)
  child.unref()
  if (!child.pid) throw new Error(`could not start ${name} (${cmd})`)
  return { pid: child.pid, command: { logName: name, cmd, args, env } }
}

async function waitFor(what, probe, timeoutMs, logFile) {
  const deadline = Date.now() + timeoutMs
  let last
  while (Date.now() < deadline) {
    try {
      if (await probe()) return
    } catch (e) {
      last = e
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  let tail = ''
  if (logFile) {
    const text = await readFile(logFile, 'utf8').catch(() => '')
    tail = `\n--- last lines of ${logFile} ---\n${text.split('\n').slice(-30).join('\n')}`
  }
  throw new Error(`${what} did not become ready in ${timeoutMs / 1000}s${last ? ` (${last.message})` : ''}${tail}`)
}

async function requirePrerequisites() {
  const missing = []
  for (const [bin, pkg] of [
    ['dockerd', 'docker.io'],
    ['docker', 'docker.io'],
    ['docker-registry', 'docker-registry'],
    ['htpasswd', 'apache2-utils'],
    ['openssl', 'openssl'],
    ['go', 'Go >= 1.26']
  ]) {
    try {
      await run('sh', ['-c', `command -v ${bin}`])
    } catch {
      missing.push(`${bin} (${pkg})`)
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `The test bed needs: ${missing.join(', ')}. On Debian: apt-get update && apt-get install -y docker.io docker-registry apache2-utils openssl (Go from the Go toolchain).`
    )
  }
}

async function buildBinaries() {
  log('building/looking up the control-plane binaries (cached; the first build takes several minutes)')
  const child = spawn('bash', [join(here, 'build-binaries.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: K8S_VERSION ? { ...process.env, K8S_VERSION } : process.env
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const code = await new Promise((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`building the test bed binaries failed (exit ${code}); see the output above`)
  const binDir = out.trim().split('\n').pop()
  return { binDir, assetsDir: join(dirname(binDir), 'kwok') }
}

/** docker buildx as a CLI plugin, built from its Go module once per version (build-buildx.sh). */
async function buildBuildx() {
  log('building/looking up docker buildx (cached; the first build takes a few minutes)')
  const child = spawn('bash', [join(here, 'build-buildx.sh')], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const code = await new Promise((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`building docker buildx for the test bed failed (exit ${code}); see the output above`)
  return join(out.trim().split('\n').pop(), 'docker-buildx')
}

/**
 * Puts buildx into the bed's DOCKER_CONFIG (`cli-plugins/docker-buildx`, a link to the cached build), so the docker CLI
 * run with the bed's environment has `docker buildx`, as on GitHub's runners. Idempotent.
 */
async function installBuildx(dockerConfig, plugin) {
  const dir = join(dockerConfig, 'cli-plugins')
  await mkdir(dir, { recursive: true })
  const link = join(dir, 'docker-buildx')
  await rm(link, { force: true })
  await symlink(plugin, link)
  return link
}

async function makeCerts(pki) {
  await mkdir(pki, { recursive: true })
  const ssl = (args) => run('openssl', args, { cwd: pki })
  await ssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '30',
    '-subj',
    '/CN=rollout-guard-bed-ca'
  ])
  const sign = async (name, subj, ext) => {
    await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj])
    const extFile = join(pki, `${name}.ext`)
    await writeFile(extFile, ext)
    await ssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '30',
      '-extfile',
      extFile
    ])
  }
  const serverExt =
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
    'subjectAltName=IP:127.0.0.1,IP:198.18.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n'
  const clientExt =
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
  await sign('apiserver', '/CN=kube-apiserver', serverExt)
  await sign('kwok-server', '/CN=kwok', serverExt)
  await sign('admin', '/O=system:masters/CN=bed-admin', clientExt)
  await sign('controller-manager', '/CN=system:kube-controller-manager', clientExt)
  await sign('scheduler', '/CN=system:kube-scheduler', clientExt)
  await sign('kwok', '/O=system:masters/CN=kwok-controller', clientExt)
  await ssl(['genrsa', '-out', 'sa.key', '2048'])
  await ssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'])
}

async function writeKubeconfig(file, server, pki, user) {
  await writeKubeconfigOf(file, [{ name: 'bed', server, pki, user }])
}

/** A kubeconfig with one context per entry (cluster, user and context all named `name`); the first is current. */
async function writeKubeconfigOf(file, entries) {
  const b64 = async (pki, f) => (await readFile(join(pki, f))).toString('base64')
  const clusters = []
  const users = []
  const contexts = []
  for (const { name, server, pki, user } of entries) {
    clusters.push(`- name: ${name}
  cluster:
    server: ${server}
    certificate-authority-data: ${await b64(pki, 'ca.crt')}`)
    users.push(`- name: ${name}
  user:
    client-certificate-data: ${await b64(pki, `${user}.crt`)}
    client-key-data: ${await b64(pki, `${user}.key`)}`)
    contexts.push(`- name: ${name}
  context: { cluster: ${name}, user: ${name} }`)
  }
  await writeFile(
    file,
    `apiVersion: v1
kind: Config
clusters:
${clusters.join('\n')}
users:
${users.join('\n')}
contexts:
${contexts.join('\n')}
current-context: ${entries[0].name}
`,
    { mode: 0o600 }
  )
}

/**
 * Alpha fields the bed's apiserver keeps, by the Kubernetes minor it was built from: a pod-template field that
 * client-node's models (generated from an older release) do not know, so the e2e tests can prove that a rollback puts
 * such a field back byte for byte (test/e2e/hostile-cluster.test.ts). Older releases do not have the gate.
 */
function featureGates(binDir) {
  const minor = Number(/\/k8s-v1\.(\d+)\./.exec(binDir)?.[1] ?? 0)
  return minor >= 37 ? ['--feature-gates=EmptyDirVolumeMode=true'] : []
}

function apiserverArgs(etcdPort, apiPort, pki, extra = []) {
  const p = (f) => join(pki, f)
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    // Endpoints may not hold loopback addresses; nothing in the bed routes to the kubernetes Service anyway.
    '--endpoint-reconciler-type=none',
    `--tls-cert-file=${p('apiserver.crt')}`,
    `--tls-private-key-file=${p('apiserver.key')}`,
    `--client-ca-file=${p('ca.crt')}`,
    `--service-account-key-file=${p('sa.pub')}`,
    `--service-account-signing-key-file=${p('sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    `--kubelet-client-certificate=${p('admin.crt')}`,
    `--kubelet-client-key=${p('admin.key')}`,
    '--kubelet-preferred-address-types=InternalIP',
    '--allow-privileged=true',
    ...extra,
    '--v=1'
  ]
}

/** The flags kube-controller-manager and kube-scheduler share: their kubeconfig, a loopback port, no leader election. */
function componentArgs(kubeconfig, port) {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--leader-elect=false'
  ]
}

function controllerManagerArgs(kubeconfig, port, pki) {
  return [
    ...componentArgs(kubeconfig, port),
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${join(pki, 'sa.key')}`,
    `--root-ca-file=${join(pki, 'ca.crt')}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--v=1'
  ]
}

function schedulerArgs(kubeconfig, port) {
  return [...componentArgs(kubeconfig, port), '--v=1']
}

/** KWOK's configuration: its options (log server on 127.0.0.1:`port`) and the node and pod stages. */
async function kwokConfiguration(assetsDir, port, pki) {
  const stages = [
    await readFile(join(assetsDir, 'node-initialize.yaml'), 'utf8'),
    await readFile(join(assetsDir, 'node-heartbeat-with-lease.yaml'), 'utf8'),
    await readFile(join(here, 'pod-stages.yaml'), 'utf8')
  ]
  return [
    `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  cidr: ${POD_CIDR}
  nodeIP: 127.0.0.1
  nodePort: ${port}
  serverAddress: 127.0.0.1:${port}
  tlsCertFile: ${join(pki, 'kwok-server.crt')}
  tlsPrivateKeyFile: ${join(pki, 'kwok-server.key')}
  manageNodesWithAnnotationSelector: kwok.x-k8s.io/node=fake
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 4
  podPlayStageParallelism: 4
  nodePlayStageParallelism: 4
  podsOnNodeSyncParallelism: 4
  enableCRDs: [Logs]
  enableDebuggingHandlers: true
`,
    ...stages
  ].join('\n---\n')
}

/** `count` fake nodes `<prefix>-0`, `<prefix>-1`, … that KWOK manages. */
function nodeManifests(prefix, count) {
  return Array.from(
    { length: count },
    (_, i) => `apiVersion: v1
kind: Node
metadata:
  name: ${prefix}-${i}
  annotations: { kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0" }
  labels: { kubernetes.io/hostname: ${prefix}-${i}, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok }
status:
  allocatable: { cpu: "32", memory: 256Gi, pods: "110" }
  capacity: { cpu: "32", memory: 256Gi, pods: "110" }
`
  ).join('---\n')
}

/**
 * Waits until `count` nodes of the cluster behind `state.kubeconfig` are Ready and its controller-manager made the
 * default ServiceAccount (`suffix`: whose logs to show on a timeout, '' or '-2').
 */
async function waitForCluster(state, count, suffix) {
  await waitFor(
    `${count} Ready nodes`,
    async () => {
      const out = await kubectl(state, [
        'get',
        'nodes',
        '-o',
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'
      ])
      return out.split('\n').filter((s) => s === 'True').length >= count
    },
    60000,
    join(BED_DIR, `logs/kwok${suffix}.log`)
  )
  await waitFor(
    'the default ServiceAccount',
    async () => {
      await kubectl(state, ['get', 'serviceaccount', 'default', '-n', 'default'])
      return true
    },
    60000,
    join(BED_DIR, `logs/kube-controller-manager${suffix}.log`)
  )
}

/**
 * One control plane on the bed's etcd: kube-apiserver (storing under `etcdPrefix`, default /registry), its kubeconfigs
 * in `dir`, kube-controller-manager, kube-scheduler, the KWOK Logs CRD, KWOK and its fake `nodes`. Components are
 * recorded with `remember` under their names plus `suffix` ('' for the first cluster, '-2' for the second).
 */
async function startControlPlane({
  dir,
  suffix,
  binDir,
  assetsDir,
  pki,
  etcdPort,
  etcdPrefix,
  ports,
  nodes,
  remember
}) {
  const { apiPort, cmPort, schedPort, kwokPort } = ports
  const apiServer = `https://127.0.0.1:${apiPort}`
  log(`starting kube-apiserver${suffix} on ${apiServer}`)
  await remember(
    `apiserver${suffix}`,
    startProcess(
      `kube-apiserver${suffix}`,
      join(binDir, 'kube-apiserver'),
      apiserverArgs(etcdPort, apiPort, pki, [
        ...(etcdPrefix ? [`--etcd-prefix=${etcdPrefix}`] : []),
        ...featureGates(binDir)
      ])
    )
  )
  const kubeconfig = join(dir, 'kubeconfig')
  await writeKubeconfig(kubeconfig, apiServer, pki, 'admin')
  for (const user of ['controller-manager', 'scheduler', 'kwok']) {
    await writeKubeconfig(join(dir, `${user}.kubeconfig`), apiServer, pki, user)
  }
  const cluster = { binDir, kubeconfig }
  await waitFor(
    `kube-apiserver${suffix}`,
    async () => {
      await kubectl(cluster, ['get', '--raw', '/readyz'], { timeout: 5000 })
      return true
    },
    90000,
    join(BED_DIR, `logs/kube-apiserver${suffix}.log`)
  )

  log(`starting kube-controller-manager${suffix} and kube-scheduler${suffix}`)
  await remember(
    `controller-manager${suffix}`,
    startProcess(
      `kube-controller-manager${suffix}`,
      join(binDir, 'kube-controller-manager'),
      controllerManagerArgs(join(dir, 'controller-manager.kubeconfig'), cmPort, pki)
    )
  )
  await remember(
    `scheduler${suffix}`,
    startProcess(
      `kube-scheduler${suffix}`,
      join(binDir, 'kube-scheduler'),
      schedulerArgs(join(dir, 'scheduler.kubeconfig'), schedPort)
    )
  )

  log('installing the KWOK Logs CRD')
  await kubectl(cluster, ['apply', '-f', join(assetsDir, 'logs-crd.yaml')])
  await kubectl(cluster, ['wait', '--for=condition=Established', 'crd/logs.kwok.x-k8s.io', '--timeout=30s'])

  log(`starting kwok${suffix} (simulated kubelets, log server on 127.0.0.1:${kwokPort})`)
  const kwokConfig = join(dir, 'kwok.yaml')
  await writeFile(kwokConfig, await kwokConfiguration(assetsDir, kwokPort, pki))
  await remember(
    `kwok${suffix}`,
    startProcess(`kwok${suffix}`, join(binDir, 'kwok'), [
      `--kubeconfig=${join(dir, 'kwok.kubeconfig')}`,
      `--config=${kwokConfig}`,
      '--v=INFO'
    ])
  )
  await kubectlApply(cluster, nodes)
  return { apiServer, kubeconfig }
}

/**
 * @typedef {{ binDir: string, kubeconfig: string, apiServer: string, registry: string, registryUser: string,
 *   registryPassword: string, dockerHost: string, dockerConfig: string, buildxPlugin: string, logsDir: string,
 *   pids: Record<string, number>,
 *   commands: Record<string, { logName: string, cmd: string, args: string[], env: Record<string, string> }>,
 *   dir: string, second?: SecondCluster }} BedState
 * @typedef {{ apiServer: string, kubeconfig: string, kubeconfigBoth: string, contexts: string[], logsDir: string }}
 *   SecondCluster
 */

/** @returns {Promise<BedState>} */
export async function up() {
  const existing = await readState()
  // A running bed of another Kubernetes release than the one asked for is replaced.
  const sameVersion = !K8S_VERSION || existing?.binDir?.includes(`/k8s-${K8S_VERSION}_`)
  if (sameVersion && (await healthy(existing))) {
    log(`reusing the running bed in ${BED_DIR}`)
    // A bed started before buildx was part of it gets the plugin now.
    const buildxPlugin = await installBuildx(existing.dockerConfig, await buildBuildx())
    if (existing.buildxPlugin !== buildxPlugin) {
      existing.buildxPlugin = buildxPlugin
      await writeFile(STATE_FILE, JSON.stringify(existing, null, 2), { mode: 0o600 })
    }
    return existing
  }
  if (existing) await down()
  await requirePrerequisites()
  // Independent builds (each cached by version, each behind its own lock): overlap their downloads and compiles, and
  // let both finish before reporting a failure of either.
  const builds = await Promise.allSettled([buildBinaries(), buildBuildx()])
  for (const b of builds) if (b.status === 'rejected') throw b.reason
  const [{ binDir, assetsDir }, buildxBuild] = builds.map((b) => b.value)
  const started = Date.now()

  await rm(BED_DIR, { recursive: true, force: true })
  for (const d of ['logs', 'pki', 'etcd', 'registry', 'docker/data', 'docker/exec', 'docker-config', 'pod-logs']) {
    await mkdir(join(BED_DIR, d), { recursive: true })
  }
  const pki = join(BED_DIR, 'pki')
  const [etcdPort, etcdPeer, apiPort, cmPort, schedPort, kwokPort, registryPort] = await freePorts(7)
  const apiServer = `https://127.0.0.1:${apiPort}`
  const pids = {}
  /** What is known so far; written (marked partial) whenever it grows, so down() can clean up a failed start. */
  let known = { dir: BED_DIR, binDir, pids, commands }
  const remember = async (name, { pid, command }) => {
    pids[name] = pid
    commands[name] = command
    await writeFile(STATE_FILE, JSON.stringify({ ...known, partial: true }, null, 2), { mode: 0o600 })
  }

  log('generating certificates')
  await makeCerts(pki)

  log(`starting etcd on 127.0.0.1:${etcdPort}`)
  await remember(
    'etcd',
    startProcess('etcd', join(binDir, 'etcd'), [
      '--name=bed',
      `--data-dir=${join(BED_DIR, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=bed=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=4294967296',
      '--log-level=warn'
    ])
  )
  await waitFor(
    'etcd',
    async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok,
    30000,
    join(BED_DIR, 'logs/etcd.log')
  )

  const { kubeconfig } = await startControlPlane({
    dir: BED_DIR,
    suffix: '',
    binDir,
    assetsDir,
    pki,
    etcdPort,
    ports: { apiPort, cmPort, schedPort, kwokPort },
    nodes: nodeManifests('bed-node', NODE_COUNT),
    remember
  })

  log(`starting the registry on 127.0.0.1:${registryPort} (htpasswd auth)`)
  const registryPassword = randomBytes(12).toString('hex')
  const htpasswd = await run('htpasswd', ['-Bbn', REGISTRY_USER, registryPassword])
  await writeFile(join(BED_DIR, 'registry', 'htpasswd'), htpasswd)
  await writeFile(
    join(BED_DIR, 'registry', 'config.yml'),
    `version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: ${join(BED_DIR, 'registry', 'data')} }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:${registryPort}
  secret: ${randomBytes(16).toString('hex')}
auth:
  htpasswd: { realm: rollout-guard-bed, path: ${join(BED_DIR, 'registry', 'htpasswd')} }
`
  )
  await remember(
    'registry',
    startProcess('registry', 'docker-registry', ['serve', join(BED_DIR, 'registry', 'config.yml')])
  )
  const registry = `127.0.0.1:${registryPort}`
  await waitFor(
    'registry',
    async () => (await fetch(`http://${registry}/v2/`)).status === 401,
    30000,
    join(BED_DIR, 'logs/registry.log')
  )

  log('starting dockerd (no bridge, no iptables, unix socket only)')
  const dockerSock = join(BED_DIR, 'docker', 'docker.sock')
  const dockerHost = `unix://${dockerSock}`
  await remember(
    'dockerd',
    startProcess('dockerd', 'dockerd', [
      `--data-root=${join(BED_DIR, 'docker/data')}`,
      `--exec-root=${join(BED_DIR, 'docker/exec')}`,
      `--pidfile=${join(BED_DIR, 'docker/docker.pid')}`,
      `-H`,
      dockerHost,
      '--iptables=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--bridge=none',
      `--insecure-registry=${registry}`
    ])
  )
  const dockerConfig = join(BED_DIR, 'docker-config')
  const buildxPlugin = await installBuildx(dockerConfig, buildxBuild)
  const dockerEnv = { ...process.env, DOCKER_HOST: dockerHost, DOCKER_CONFIG: dockerConfig }
  await waitFor(
    'dockerd',
    async () => {
      await run('docker', ['version', '--format', '{{.Server.Version}}'], { env: dockerEnv, timeout: 5000 })
      return true
    },
    60000,
    join(BED_DIR, 'logs/dockerd.log')
  )
  await new Promise((resolve, reject) => {
    const child = spawn('docker', ['login', registry, '--username', REGISTRY_USER, '--password-stdin'], {
      env: dockerEnv,
      stdio: ['pipe', 'ignore', 'pipe']
    })
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`docker login failed: ${err}`))))
    child.stdin.end(registryPassword)
  })
  log(`docker buildx on the bed's docker: ${(await run('docker', ['buildx', 'version'], { env: dockerEnv })).trim()}`)

  const state = {
    dir: BED_DIR,
    binDir,
    kubeconfig,
    apiServer,
    registry,
    registryUser: REGISTRY_USER,
    registryPassword,
    dockerHost,
    dockerConfig,
    buildxPlugin,
    logsDir: join(BED_DIR, 'pod-logs'),
    pids,
    commands
  }
  known = state

  log('starting the bed controller (image behaviour → pod annotations and log files)')
  await remember(
    'controller',
    startProcess('bed-controller', process.execPath, [join(here, 'controller.mjs'), STATE_FILE])
  )

  await waitForCluster(state, NODE_COUNT, '')
  await writeFile(STATE_FILE, JSON.stringify(state, null, 2), { mode: 0o600 })
  log(`bed is up in ${Math.round((Date.now() - started) / 1000)}s: kubeconfig ${kubeconfig}, registry ${registry}`)
  return state
}

const SECOND_NODE_COUNT = 2

/**
 * A second control plane beside the running bed, for releases that span kubeconfig contexts: its own kube-apiserver
 * (own port, own certificate authority and service-account keys) storing under its own etcd prefix (`/registry-2-…`,
 * fresh per start) in the bed's etcd, its own kube-controller-manager, kube-scheduler and KWOK with its own fake nodes (`bed-2-node-*`),
 * and its own bed controller, so its pods behave by their images' labels as in the first cluster (same registry).
 * Writes `kubeconfig-both` with the contexts `bed-1` (the first cluster) and `bed-2`. Started only by the tests that
 * need it; idempotent (a healthy second cluster is reused); stopped by down() with the rest of the bed.
 * @returns {Promise<SecondCluster>}
 */
export async function startSecondCluster() {
  const state = await readState()
  if (!(await healthy(state))) throw new Error(`no healthy bed in ${BED_DIR}: start it first (npm run bed:up)`)
  if (state.second && SECOND.every((n) => state.pids[n] && alive(state.pids[n]))) {
    try {
      await kubectl({ binDir: state.binDir, kubeconfig: state.second.kubeconfig }, ['get', '--raw', '/readyz'], {
        timeout: 5000
      })
      log('reusing the running second cluster')
      return state.second
    } catch {
      /* started again below */
    }
  }
  await stopSecondCluster()
  const started = Date.now()
  const { binDir } = state
  const assetsDir = join(dirname(binDir), 'kwok')
  const dir = join(BED_DIR, 'cluster-2')
  const pki = join(dir, 'pki')
  await rm(dir, { recursive: true, force: true })
  await mkdir(join(dir, 'pod-logs'), { recursive: true })
  const etcdPort = new URL(state.commands.etcd.args.find((a) => a.startsWith('--listen-client-urls=')).split('=')[1])
    .port
  const [apiPort, cmPort, schedPort, kwokPort] = await freePorts(4)
  const apiServer = `https://127.0.0.1:${apiPort}`
  // A fresh prefix per start: nothing a stopped second cluster stored is seen by the next.
  const etcdPrefix = `/registry-2-${randomBytes(3).toString('hex')}`
  let current = state
  const remember = async (name, { pid, command }) => {
    current = await readState()
    current.pids[name] = pid
    current.commands[name] = command
    await writeFile(STATE_FILE, JSON.stringify(current, null, 2), { mode: 0o600 })
  }

  log('second cluster: generating certificates')
  await makeCerts(pki)
  log(`second cluster: etcd prefix ${etcdPrefix}`)
  const { kubeconfig } = await startControlPlane({
    dir,
    suffix: '-2',
    binDir,
    assetsDir,
    pki,
    etcdPort,
    etcdPrefix,
    ports: { apiPort, cmPort, schedPort, kwokPort },
    nodes: nodeManifests('bed-2-node', SECOND_NODE_COUNT),
    remember
  })
  const cluster = { binDir, kubeconfig }
  const kubeconfigBoth = join(BED_DIR, 'kubeconfig-both')
  await writeKubeconfigOf(kubeconfigBoth, [
    { name: 'bed-1', server: state.apiServer, pki: join(BED_DIR, 'pki'), user: 'admin' },
    { name: 'bed-2', server: apiServer, pki, user: 'admin' }
  ])

  // The bed controller reads its cluster, the registry and where pod logs go from a state file of its own.
  const controllerState = join(dir, 'controller.json')
  const logsDir = join(dir, 'pod-logs')
  await writeFile(
    controllerState,
    JSON.stringify({
      kubeconfig,
      registry: state.registry,
      registryUser: state.registryUser,
      registryPassword: state.registryPassword,
      logsDir
    }),
    { mode: 0o600 }
  )
  await remember(
    'controller-2',
    startProcess('bed-controller-2', process.execPath, [join(here, 'controller.mjs'), controllerState])
  )
  const controllerLog = join(BED_DIR, 'logs/bed-controller-2.log')
  await waitFor(
    'the second bed controller',
    async () => {
      if (!alive(current.pids['controller-2'])) throw new Error('it exited')
      return (await readFile(controllerLog, 'utf8')).includes('bed controller watching pods')
    },
    30000,
    controllerLog
  )
  await waitForCluster(cluster, SECOND_NODE_COUNT, '-2')
  const second = { apiServer, kubeconfig, kubeconfigBoth, contexts: ['bed-1', 'bed-2'], logsDir }
  current = await readState()
  await writeFile(STATE_FILE, JSON.stringify({ ...current, second }, null, 2), { mode: 0o600 })
  log(
    `second cluster is up in ${Math.round((Date.now() - started) / 1000)}s: ${apiServer}, both contexts in ${kubeconfigBoth}`
  )
  return second
}

/** Stops the second cluster's processes (by PID) and forgets them; the first cluster keeps running. */
export async function stopSecondCluster() {
  const state = await readState()
  if (!state?.pids) return
  const apiserver = state.pids['apiserver-2']
  await Promise.all(
    SECOND.filter((n) => n !== 'apiserver-2' && state.pids[n]).map((n) => stop(n, state.pids[n], 10000))
  )
  if (apiserver) await stop('apiserver-2', apiserver, 10000)
  const next = await readState()
  for (const n of SECOND) {
    delete next.pids[n]
    delete next.commands?.[n]
  }
  delete next.second
  await writeFile(STATE_FILE, JSON.stringify(next, null, 2), { mode: 0o600 })
}

/** Signals a component's whole process group (dockerd's containerd too), else the process alone. */
function signalGroup(pid, sig) {
  try {
    process.kill(-pid, sig)
  } catch {
    try {
      process.kill(pid, sig)
    } catch {
      /* already gone */
    }
  }
}

async function stop(name, pid, timeoutMs) {
  if (!alive(pid)) return
  log(`stopping ${name} (pid ${pid})`)
  signalGroup(pid, 'SIGTERM')
  // A frozen component (freeze()) only acts on SIGTERM once it runs again.
  signalGroup(pid, 'SIGCONT')
  const deadline = Date.now() + timeoutMs
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  if (alive(pid)) {
    log(`killing ${name} (pid ${pid})`)
    signalGroup(pid, 'SIGKILL')
  }
}

async function component(name) {
  const state = await readState()
  const pid = state?.pids?.[name]
  if (!state || pid === undefined) throw new Error(`the bed in ${BED_DIR} has no component "${name}"`)
  return { state, pid }
}

/** Answers true once `name` serves again after a restart. */
async function serving(state, name) {
  switch (name) {
    case 'apiserver':
      await kubectl(state, ['get', '--raw', '/readyz'], { timeout: 5000 })
      return true
    case 'etcd': {
      const url = state.commands.etcd.args.find((a) => a.startsWith('--listen-client-urls=')).split('=')[1]
      return (await fetch(`${url}/health`)).ok
    }
    case 'prometheus':
      return (await fetch(`${state.prometheus.url}/-/ready`)).ok
    case 'registry':
      return (await fetch(`http://${state.registry}/v2/`)).status === 401
    case 'dockerd':
      await run('docker', ['version', '--format', '{{.Server.Version}}'], {
        env: { ...process.env, DOCKER_HOST: state.dockerHost, DOCKER_CONFIG: state.dockerConfig },
        timeout: 5000
      })
      return true
    default:
      return alive(state.pids[name])
  }
}

/** SIGKILLs component `name` (no graceful shutdown, as a crash or an OOM kill would) and waits until it is gone. */
export async function kill(name) {
  const { pid } = await component(name)
  log(`fault: killing ${name} (pid ${pid})`)
  signalGroup(pid, 'SIGKILL')
  const deadline = Date.now() + 10000
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`${name} (pid ${pid}) still runs 10s after SIGKILL`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * Starts component `name` again with the command it was first started with (same flags, ports, certificates and
 * data), records its new PID in bed.json and waits until it serves. Kills a still-running instance first.
 */
export async function restart(name, timeoutMs = 90000) {
  const { state, pid } = await component(name)
  if (alive(pid)) await kill(name)
  const spec = state.commands?.[name]
  if (!spec) throw new Error(`bed.json has no start command for "${name}" (a bed started before restart() existed)`)
  log(`fault: restarting ${name}`)
  const started = startProcess(spec.logName, spec.cmd, spec.args, spec.env)
  const next = { ...state, pids: { ...state.pids, [name]: started.pid } }
  await writeFile(STATE_FILE, JSON.stringify(next, null, 2), { mode: 0o600 })
  await waitFor(name, () => serving(next, name), timeoutMs, join(BED_DIR, 'logs', `${spec.logName}.log`))
  return started.pid
}

/** SIGSTOPs component `name`: its sockets stay open and accept connections, but nothing answers (a hung process). */
export async function freeze(name) {
  const { pid } = await component(name)
  log(`fault: freezing ${name} (pid ${pid})`)
  signalGroup(pid, 'SIGSTOP')
}

/** After a fault: thaws component `name`, and restarts it when it is gone. */
export async function ensureRunning(name) {
  await thaw(name)
  const { pid } = await component(name)
  if (!alive(pid)) await restart(name)
}

/** SIGCONTs a frozen component. */
export async function thaw(name) {
  const { pid } = await component(name)
  log(`fault: thawing ${name} (pid ${pid})`)
  signalGroup(pid, 'SIGCONT')
}

/**
 * The bed's Prometheus (started on first ask, with the exporter it scrapes): its base URL once it has scraped the
 * exporter at least once. Loopback only; no remote read/write, no other listener; its data in the bed folder.
 */
export async function prometheus() {
  const state = await readState()
  if (!state) throw new Error(`no bed in ${BED_DIR}; start one first`)
  if (state.prometheus && alive(state.pids.prometheus) && alive(state.pids.exporter)) return state.prometheus.url
  if (state.pids.prometheus) await stop('prometheus', state.pids.prometheus, 10000)
  if (state.pids.exporter) await stop('exporter', state.pids.exporter, 10000)
  const bin = await run('sh', ['-c', 'command -v prometheus']).catch(() => '')
  if (!bin.trim()) throw new Error('prometheus is not installed (apt-get install prometheus; .ci/run installs it)')
  const [exporterPort, promPort] = await freePorts(2)
  const dir = join(BED_DIR, 'prometheus')
  await mkdir(join(dir, 'data'), { recursive: true })
  const config = join(dir, 'prometheus.yml')
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 900ms',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: bed',
      '    honor_labels: true',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${exporterPort}']`,
      ''
    ].join('\n')
  )
  log(`starting the metrics exporter on 127.0.0.1:${exporterPort} and prometheus on 127.0.0.1:${promPort}`)
  const exporter = startProcess('bed-exporter', process.execPath, [
    join(here, 'exporter.mjs'),
    STATE_FILE,
    String(exporterPort)
  ])
  const server = startProcess('prometheus', bin.trim(), [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    '--storage.tsdb.retention.time=2h',
    `--web.listen-address=127.0.0.1:${promPort}`,
    // Queries about pods gone for 30s are stale anyway; keep the default lookback from outliving the test.
    '--query.lookback-delta=30s'
  ])
  const url = `http://127.0.0.1:${promPort}`
  const next = {
    ...state,
    pids: { ...state.pids, exporter: exporter.pid, prometheus: server.pid },
    commands: { ...state.commands, exporter: exporter.command, prometheus: server.command },
    prometheus: { url, exporter: `127.0.0.1:${exporterPort}` }
  }
  await writeFile(STATE_FILE, JSON.stringify(next, null, 2), { mode: 0o600 })
  await waitFor(
    'prometheus scraping the bed exporter',
    async () => {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent('up{job="bed"}')}`)
      const body = await res.json()
      return body?.data?.result?.[0]?.value?.[1] === '1'
    },
    60000,
    join(BED_DIR, 'logs/prometheus.log')
  )
  return url
}

export async function down() {
  const state = await readState()
  if (state?.pids) {
    // Everything that talks to the apiserver first, then the apiserver, then etcd: an apiserver whose etcd is gone
    // hangs in its graceful shutdown.
    // (The second cluster's apiserver, `apiserver-2`, shares the etcd.)
    const { etcd, ...rest } = state.pids
    const apiservers = Object.entries(rest).filter(([name]) => name.startsWith('apiserver'))
    const others = Object.entries(rest).filter(([name]) => !name.startsWith('apiserver'))
    await Promise.all(others.map(([name, pid]) => stop(name, pid, 10000)))
    await Promise.all(apiservers.map(([name, pid]) => stop(name, pid, 10000)))
    if (etcd) await stop('etcd', etcd, 10000)
  }
  // dockerd leaves mounts under its data root when it is killed; unmount before removing.
  if (existsSync(join(BED_DIR, 'docker'))) {
    await run('sh', ['-c', `grep -o " ${BED_DIR}/docker[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`]).catch(
      () => undefined
    )
  }
  await rm(BED_DIR, { recursive: true, force: true })
}
