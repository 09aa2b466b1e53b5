import { describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { nodeVersionProblem } from '../../src/runtime/node-version.js'

describe('nodeVersionProblem', () => {
  it.each([
    ['24.0.0', undefined],
    ['24.21.0', undefined],
    ['25.1.0', undefined],
    ['v24.3.1', undefined]
  ])('Node %s can run it', (version, expected) => {
    expect(nodeVersionProblem(version)).toBe(expected)
  })

  it.each([
    ['20.20.2', 'v20.20.2'],
    ['22.12.0', 'v22.12.0'],
    ['v23.11.1', 'v23.11.1'],
    ['garbled', 'vgarbled']
  ])('Node %s gets one line naming the version it is', (version, shown) => {
    const problem = nodeVersionProblem(version)
    expect(problem).toContain('Rollout Guard needs Node.js ≥ 24')
    expect(problem).toContain(`(this is ${shown})`)
    expect(problem).not.toContain('\n')
  })
})

// The bundled CLI on an older Node: the guard must run before any module that needs Node 24 is linked. The system Node
// (not the one npm installed into node_modules/.bin) is the older one on the machines this project runs on.
const root = join(import.meta.dirname, '..', '..')
const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p))
const systemMajor = systemNode ? Number(execFileSync(systemNode, ['-p', 'process.versions.node.split(".")[0]'])) : 0

describe('dist/cli.js on a Node.js older than 24', () => {
  const run = systemNode && systemMajor < 24 ? it : it.skip
  run(`prints one clear line and exits 2 (${systemNode ?? 'no system node'} v${systemMajor})`, () => {
    const r = spawnSync(systemNode!, [join(root, 'dist', 'cli.js'), 'version'], { encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^Rollout Guard needs Node\.js ≥ 24 \(this is v\d+\./)
    ])
  })

  it('runs on this Node (24)', () => {
    const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'version'], { encoding: 'utf8' })
    expect(r.status).toBe(0)
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })
})
