// A private certificate authority made with openssl for one test, and a server certificate it signs for 127.0.0.1 —
// what a registry behind a company firewall looks like. Files live in a fresh temporary folder.

import { execa } from 'execa'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestCa {
  dir: string
  /** The CA certificate (PEM) and its path. */
  caPem: string
  caPath: string
  /** A CA that signed nothing here: trusting it instead must fail verification. */
  otherCaPem: string
  /** The server's certificate (signed by the CA; SAN IP:127.0.0.1, DNS:localhost) and key, PEM and paths. */
  certPem: string
  certPath: string
  keyPem: string
  keyPath: string
}

export async function makeTestCa(prefix = 'rg-test-ca-'): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  const openssl = (args: string[]) => execa('openssl', args, { cwd: dir })
  const selfSigned = (name: string, subject: string) =>
    openssl(
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', subject].concat([
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`
      ])
    )
  await selfSigned('ca', '/CN=Rollout Guard test CA')
  await selfSigned('other-ca', '/CN=Some other CA')
  await openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    'tls.key',
    '-out',
    'tls.csr'
  ])
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  await openssl(
    ['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      'tls.crt'
    ])
  )
  const read = (name: string) => readFile(join(dir, name), 'utf8')
  return {
    dir,
    caPem: await read('ca.crt'),
    caPath: join(dir, 'ca.crt'),
    otherCaPem: await read('other-ca.crt'),
    certPem: await read('tls.crt'),
    certPath: join(dir, 'tls.crt'),
    keyPem: await read('tls.key'),
    keyPath: join(dir, 'tls.key')
  }
}
