// Registries as teams run them, on the real bed: a second docker-registry on 127.0.0.1 serving TLS with a certificate
// from a private CA this test makes with openssl. It shares the bed registry's storage, so an image pushed to one is
// there in the other under the same digest.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execa } from 'execa'
import { appendFile, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { type ChildProcess, spawn } from 'node:child_process'
import { makeTestCa } from '../support/test-ca.js'
import { baseInputs, runAction, expectVerdict } from './support/action.js'
import {
  type BedState,
  type Clients,
  bed,
  clients,
  createAvailableDeployment,
  freshNamespace,
  imageContext,
  pushImage,
  waitUntil
} from './support/bed.js'

let state: BedState
let c: Clients
let dir: string
let registry: string
let ca: string
let server: ChildProcess | undefined

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const address = s.address()
      const port = typeof address === 'object' && address ? address.port : 0
      s.close(() => resolve(port))
    })
  })
}

beforeAll(async () => {
  state = await bed()
  c = clients(state)
  const testCa = await makeTestCa('rg-tls-registry-')
  dir = testCa.dir
  const port = await freePort()
  registry = `127.0.0.1:${port}`
  // The private CA, and the registry's certificate signed by it (SAN 127.0.0.1 and localhost).
  ca = testCa.caPem
  await writeFile(
    join(dir, 'config.yml'),
    `version: 0.1
storage:
  filesystem: { rootdirectory: ${join(state.dir, 'registry', 'data')} }
  delete: { enabled: true }
http:
  addr: ${registry}
  tls: { certificate: ${join(dir, 'tls.crt')}, key: ${join(dir, 'tls.key')} }
auth:
  htpasswd: { realm: rollout-guard-tls, path: ${join(state.dir, 'registry', 'htpasswd')} }
`
  )
  server = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' })
  await waitUntil('the TLS registry', 20_000, async () => {
    const r = await execa(
      'curl',
      ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(dir, 'ca.crt'), `https://${registry}/v2/`],
      { reject: false }
    )
    return r.stdout === '401'
  })
  // The bed's pod controller reads image behaviour for this host from the shared storage too.
  await appendFile(join(state.dir, 'registry-aliases'), `${registry}\n`)
}, 120_000)

afterAll(async () => {
  await rm(join(state.dir, 'registry-aliases'), { force: true })
  if (server?.pid !== undefined && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once('exit', resolve))
    server.kill('SIGTERM')
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))])
  }
  await rm(join('/etc/docker/certs.d', registry), { recursive: true, force: true }).catch(() => undefined)
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** A namespace with Deployment `web` available on v1 from the TLS registry, and v2 pushed (through the shared storage). */
async function fixture(prefix: string) {
  const ns = await freshNamespace(c, prefix)
  const v1 = await pushImage(state, `${ns}/web`, 'v1')
  const v2 = await pushImage(state, `${ns}/web`, 'v2', { behaviour: 'ready' })
  const repo = `${registry}/${ns}/web`
  const oldImage = `${repo}:v1@${v1}`
  await createAvailableDeployment(c, { name: 'web', namespace: ns, image: oldImage, replicas: 2 })
  const inputs = { ...(await baseInputs(state, ns)), deployment: 'web', image: repo, build: 'false', tags: 'v2' }
  return { ns, repo, oldImage, v2, inputs }
}

async function webOf(ns: string) {
  return c.apps.readNamespacedDeployment({ name: 'web', namespace: ns })
}

describe('a TLS registry with a certificate from a private CA', () => {
  test('without registry-ca: failed, "unknown authority" naming the registry, nothing changed', async () => {
    const f = await fixture('tls-noca')
    const before = await webOf(f.ns)
    const run = await runAction(state, f.inputs)
    expectVerdict(run, 'failed')
    expect(run.outputs.reason).toBe('build')
    const annotation = run.stdout + run.stderr
    expect(annotation).toContain('unknown authority')
    expect(annotation).toContain(registry)
    const after = await webOf(f.ns)
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
    expect(after.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)
  })

  test.each([
    ['inline PEM', () => ca],
    ['a path', () => join(dir, 'ca.crt')]
  ])('with registry-ca as %s: the tag is resolved over TLS, the Deployment runs the digest', async (_how, value) => {
    const f = await fixture('tls-ca')
    const run = await runAction(state, { ...f.inputs, 'registry-ca': value() })
    expectVerdict(run, 'succeeded')
    expect(run.outputs.image).toBe(`${f.repo}:v2@${f.v2}`)
    const after = await webOf(f.ns)
    expect(after.spec?.template?.spec?.containers[0]?.image).toBe(`${f.repo}:v2@${f.v2}`)
  })

  test('build: true with registry-ca: the CA is installed for the docker daemon (certs.d/<host:port>/ca.crt), the push lands in the TLS registry', async () => {
    const f = await fixture('tls-build')
    const context = await imageContext({ behaviour: 'ready', log: 'built for the TLS registry' })
    const run = await runAction(state, {
      ...f.inputs,
      build: 'true',
      context,
      tags: 'v3',
      'registry-ca': ca
    })
    expectVerdict(run, 'succeeded')
    const installed = join('/etc/docker/certs.d', registry, 'ca.crt')
    expect((await readFile(installed, 'utf8')).trim()).toBe(ca.trim())
    expect((await stat(installed)).mode & 0o777).toBe(0o644)
    expect(run.stdout).toContain(`registry-ca installed for the docker daemon: ${installed}`)
    const digest = run.outputs.digest
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    const head = await execa(
      'curl',
      [
        '-s',
        '-I',
        '--cacert',
        join(dir, 'ca.crt'),
        '-u',
        `${state.registryUser}:${state.registryPassword}`,
        '-H',
        'Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json',
        `https://${registry}/v2/${f.ns}/web/manifests/v3`
      ],
      { reject: false }
    )
    expect(head.stdout.toLowerCase()).toContain(`docker-content-digest: ${digest}`)
    expect((await webOf(f.ns)).spec?.template?.spec?.containers[0]?.image).toBe(`${f.repo}:v3@${digest}`)
  })
})
